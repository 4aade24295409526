"""Commands from the control centre and their results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gateway.foundation.model.ids import DeviceKind

__all__ = ["CommandRequest", "CommandResult", "CommandSource", "CommandStatus"]


class CommandSource(StrEnum):
    """Who asked for a command. The value is what `state` payloads show as `source`."""

    COMMAND = "command"
    """The control centre, over MQTT: its TTL leases also lapse when the link drops."""
    CONTROLLER = "controller"
    """The gateway's own site controller (in process)."""
    UI = "ui"
    """A technician on the gateway's web page."""


class CommandStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAILED = "failed"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """A parsed command: `P/{target}/{device_id}/cmd/{name}` (site: device_id is the site id)."""

    target: DeviceKind
    device_id: str
    name: str
    request_id: str | None
    payload: Mapping[str, Any]
    source: CommandSource = CommandSource.COMMAND
    """Who asked. Leases are granted for this source (see `LeaseTable.grant`) and drivers
    record it with the limit or setpoint in force, so `state` says who set it."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    status: CommandStatus
    reason: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def accepted(cls, reason: str | None = None, **detail: Any) -> CommandResult:
        return cls(CommandStatus.ACCEPTED, reason, detail)

    @classmethod
    def rejected(cls, reason: str, **detail: Any) -> CommandResult:
        return cls(CommandStatus.REJECTED, reason, detail)

    @classmethod
    def failed(cls, reason: str, **detail: Any) -> CommandResult:
        return cls(CommandStatus.FAILED, reason, detail)

    @classmethod
    def timeout(cls, reason: str, **detail: Any) -> CommandResult:
        return cls(CommandStatus.TIMEOUT, reason, detail)
