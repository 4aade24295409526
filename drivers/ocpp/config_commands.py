"""`get_config`, `set_config` and `report`: reading and writing a charger's configuration.

1.6: GetConfiguration / ChangeConfiguration. 2.x: GetVariables / SetVariables, and for the
whole inventory GetBaseReport(FullInventory) whose NotifyReport parts are assembled here. The
full read is published retained on `P/charger/{id}/config` with the time it was read.
Provisioning (provisioning.py) reads and writes through the same `ConfigAccess`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from drivers.ocpp.calls import call_charger, online_session, refused
from drivers.ocpp.core.device_model import (
    OutcomeSplit,
    VariableKey,
    entries_from_configuration,
    entries_from_report,
    get_variables_payload,
    set_variables_payload,
    split_get_results,
)
from drivers.ocpp.hub import Hub
from drivers.ocpp.session import ChargerSession
from gateway.foundation.clock import format_ts
from gateway.foundation.commands.management import GetConfigCommand, ReportCommand, SetConfigCommand
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.errors import DeviceRefused, DeviceTimeout, InvalidCommand
from gateway.foundation.model import (
    ChargerConfigReport,
    ChargerId,
    CommandRequest,
    CommandResult,
    DeviceKind,
)
from gateway.foundation.model.versions import OcppVersion

__all__ = ["ConfigAccess", "ConfigCommands", "WriteOutcome"]

REPORT_WAIT_S = 50.0
"""How long the NotifyReport parts may take after GetBaseReport was accepted (the router
gives a command 60 s)."""

_V16_ADDRESSING = (
    "evse, connector, instance and attribute address the OCPP 2.x device model;"
    " an OCPP 1.6 charger has flat keys"
)


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    status: str
    """The charger's answer: Accepted, RebootRequired, Rejected, NotSupported, Unknown..."""
    status_info: Any = None


def _v2_keys(texts: list[str], args: GetConfigCommand | SetConfigCommand) -> list[VariableKey]:
    try:
        return [
            VariableKey.parse(
                t,
                evse=args.evse,
                connector=args.connector,
                instance=args.instance,
                attribute=args.attribute,
            )
            for t in texts
        ]
    except ValueError as exc:
        raise InvalidCommand(str(exc)) from None


class ConfigAccess:
    """Reads and writes of one charger's configuration, in its version's messages."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    async def read(self, session: ChargerSession, keys: list[str], args: GetConfigCommand) -> OutcomeSplit:
        if session.version == OcppVersion.V16:
            answer = await call_charger(self._hub, session, "GetConfiguration", {"key": keys})
            return entries_from_configuration(answer or {})
        parsed = _v2_keys(keys, args)
        answer = await call_charger(
            self._hub, session, "GetVariables", get_variables_payload(parsed)
        )
        return split_get_results(parsed, answer or {})

    async def write(self, session: ChargerSession, args: SetConfigCommand) -> WriteOutcome:
        if session.version == OcppVersion.V16:
            answer = await call_charger(
                self._hub, session, "ChangeConfiguration", {"key": args.key, "value": args.text}
            )
            return WriteOutcome(str((answer or {}).get("status")))
        (key,) = _v2_keys([args.key], args)
        answer = await call_charger(
            self._hub, session, "SetVariables", set_variables_payload(key, args.text)
        )
        results = (answer or {}).get("setVariableResult") or [{}]
        first = results[0] if isinstance(results[0], dict) else {}
        return WriteOutcome(str(first.get("attributeStatus")), first.get("attributeStatusInfo"))

    async def full_report(self, session: ChargerSession) -> ChargerConfigReport:
        """Every key of the charger, published retained on `P/charger/{id}/config`."""
        if session.version == OcppVersion.V16:
            answer = await call_charger(self._hub, session, "GetConfiguration", {})
            entries = entries_from_configuration(answer or {}).values
            source = "GetConfiguration"
        else:
            entries = await self._base_report(session)
            source = "GetBaseReport"
        report = ChargerConfigReport(
            ChargerId(session.charger_id),
            datetime.fromtimestamp(self._hub.clock.time(), UTC),
            tuple(entries),
            source,
        )
        await self._hub.recorder.record(report)
        session.log.info("configuration_read", entries=len(entries), source=source)
        return report

    async def _base_report(self, session: ChargerSession) -> list[dict[str, Any]]:
        waiters = self._hub.reports
        request_id, parts = waiters.expect(session.charger_id)
        try:
            answer = await call_charger(
                self._hub,
                session,
                "GetBaseReport",
                {"requestId": request_id, "reportBase": "FullInventory"},
            )
            status = (answer or {}).get("status")
            if status == "EmptyResultSet":
                return []
            if status != "Accepted":
                raise refused("GetBaseReport", answer)
            try:
                async with asyncio.timeout(REPORT_WAIT_S):
                    data = await parts
            except TimeoutError:
                raise DeviceTimeout(
                    f"the report's NotifyReport parts did not all arrive within {REPORT_WAIT_S:g} s"
                ) from None
            return entries_from_report(data)
        finally:
            waiters.forget(session.charger_id, request_id)


class ConfigCommands:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self.access = ConfigAccess(hub)

    def register(self, router: CommandRouter) -> None:
        router.register(DeviceKind.CHARGER, "get_config", self.get_config)
        router.register(DeviceKind.CHARGER, "set_config", self.set_config)
        router.register(DeviceKind.CHARGER, "report", self.report)

    async def get_config(self, request: CommandRequest, args: GetConfigCommand) -> CommandResult:
        session = online_session(self._hub, request.device_id)
        if session.version == OcppVersion.V16 and args.addressed:
            raise InvalidCommand(_V16_ADDRESSING)
        if args.keys is None:
            report = await self.access.full_report(session)
            return CommandResult.accepted(values=list(report.entries), source=report.source)
        split = await self.access.read(session, list(args.keys), args)
        detail: dict[str, Any] = {"values": split.values}
        if split.unknown:
            detail["unknown"] = split.unknown
        if split.refused:
            detail["refused"] = split.refused
        if split.unknown or split.refused:
            names = split.unknown or [r["key"] for r in split.refused]
            what = "unknown keys" if split.unknown else "keys refused"
            raise DeviceRefused(f"{what}: {', '.join(names)}", **detail)
        return CommandResult.accepted(**detail)

    async def set_config(self, request: CommandRequest, args: SetConfigCommand) -> CommandResult:
        session = online_session(self._hub, request.device_id)
        if session.version == OcppVersion.V16 and args.addressed:
            raise InvalidCommand(_V16_ADDRESSING)
        outcome = await self.access.write(session, args)
        session.log.info("configuration_set", key=args.key, status=outcome.status)
        detail: dict[str, Any] = {"charger_status": outcome.status, "key": args.key}
        if outcome.status_info is not None:
            detail["status_info"] = outcome.status_info
        if outcome.status == "Accepted":
            return CommandResult.accepted(**detail)
        if outcome.status == "RebootRequired":
            return CommandResult.accepted(
                "the charger takes the value after a reboot (send reset)",
                reboot_required=True,
                **detail,
            )
        raise DeviceRefused(f"charger answered {outcome.status} for {args.key}", **detail)

    async def report(self, request: CommandRequest, args: ReportCommand) -> CommandResult:
        session = online_session(self._hub, request.device_id)
        report = await self.access.full_report(session)
        return CommandResult.accepted(
            entries=len(report.entries),
            source=report.source,
            read_at=format_ts(report.read_at.timestamp()),
        )
