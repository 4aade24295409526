"""One error tree for the whole gateway; a command's result is built from it in one place.

```
PileBridgeError
├── ConfigError                    the config file cannot be used (every problem, with its key path)
├── StateFileDamaged               a file under state_dir cannot be read (exit 4, no restart loop)
├── CommandError                   a command ends here; `result` is what the requester is told
│   ├── CommandRejected            the gateway will not do it (wrong mode, nothing to do, ...)
│   │   └── InvalidCommand         the arguments make no sense for this device
│   └── DeviceError                the device is why
│       ├── DeviceOffline          not connected (rejected)
│       ├── DeviceTimeout          no answer in time (timeout)
│       ├── DeviceRefused          it answered no; `detail` carries its answer (rejected)
│       ├── DeviceNotSupported     it cannot do this at all (rejected)
│       └── DeviceFailed           it said yes but did not do it (failed)
└── ProtocolError                  a peer broke its protocol (a driver's own subtree:
                                   drivers/ocpp/errors.py, drivers/modbus/errors.py)
```

Drivers raise; the command router (`gateway.foundation.commands.router`) turns a
`CommandError` into the `CommandResult` sent back, so a status and its wording are decided
once. A driver's protocol errors that can end a command inherit from both trees (a Modbus
exception reply is a `ProtocolError` and a `DeviceRefused`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from gateway.foundation.model.commands import CommandResult, CommandStatus

__all__ = [
    "CommandError",
    "CommandRejected",
    "ConfigError",
    "ConfigProblem",
    "DeviceError",
    "DeviceFailed",
    "DeviceNotSupported",
    "DeviceOffline",
    "DeviceRefused",
    "DeviceTimeout",
    "InvalidCommand",
    "PileBridgeError",
    "ProtocolError",
    "StateFileDamaged",
]


class PileBridgeError(Exception):
    """Base of every error the gateway raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(PileBridgeError):
    """The file cannot be used; `problems` lists every reason, each with its key path."""

    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(str(p) for p in problems))


class StateFileDamaged(PileBridgeError):
    """A file under state_dir cannot be read (a power cut on an SD card): the daemon says which
    and what to do in one line, and exits without a systemd restart loop."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(message)


class CommandError(PileBridgeError):
    """A command cannot be carried out; `result` is the answer the requester gets."""

    status: ClassVar[CommandStatus] = CommandStatus.REJECTED

    def __init__(self, reason: str, **detail: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail

    @property
    def result(self) -> CommandResult:
        return CommandResult(self.status, self.reason, self.detail)


class CommandRejected(CommandError):
    """The gateway will not do it as asked (wrong mode, outside what the device allows)."""


class InvalidCommand(CommandRejected):
    """Valid against the schema, meaningless for this device (e.g. a 1.6 transaction id)."""


class DeviceError(CommandError):
    """The device is why the command did not happen."""


class DeviceOffline(DeviceError):
    """Not connected, or it went away before answering."""


class DeviceTimeout(DeviceError):
    status = CommandStatus.TIMEOUT


class DeviceRefused(DeviceError):
    """The device answered no; `detail` says how (its status, error code, exception code)."""


class DeviceNotSupported(DeviceError):
    """The device cannot do this at all (no writable setpoint, a message its version lacks)."""


class DeviceFailed(DeviceError):
    """The device accepted but did not do it (a setpoint that does not read back)."""

    status = CommandStatus.FAILED


class ProtocolError(PileBridgeError):
    """A peer broke its protocol: a malformed frame or register block, a failed discovery."""
