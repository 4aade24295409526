"""The `ocpp` command: any central-system-to-charger call the charger's version defines.

For what the other commands do not cover (display messages, monitoring, certificates,
tariffs, ...). Off unless `ocpp.allow_raw_calls`; the action must be one the central system
sends in the charger's version (a charger-to-CSMS action such as MeterValues is refused); the
payload is checked against that version's schema before anything is sent; every call is
logged (action, not payload). The charger's answer is the result's `detail`.
"""

from __future__ import annotations

from typing import Any

from drivers.ocpp.calls import call_charger, online_session
from drivers.ocpp.hub import Hub
from drivers.ocpp.validation import is_known_action
from gateway.foundation.commands.management import RawOcppCommand
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.errors import CommandRejected, InvalidCommand
from gateway.foundation.model import CommandRequest, CommandResult, DeviceKind
from gateway.foundation.model.versions import OcppVersion

__all__ = ["FROM_CHARGER", "RawCalls", "csms_action"]

_V2_FROM_CHARGER = frozenset(
    {"Authorize", "BootNotification", "ClearedChargingLimit", "FirmwareStatusNotification",
     "Get15118EVCertificate", "GetCertificateStatus", "Heartbeat", "LogStatusNotification",
     "MeterValues", "NotifyChargingLimit", "NotifyCustomerInformation", "NotifyDisplayMessages",
     "NotifyEVChargingNeeds", "NotifyEVChargingSchedule", "NotifyEvent",
     "NotifyMonitoringReport", "NotifyReport", "PublishFirmwareStatusNotification",
     "ReportChargingProfiles", "ReservationStatusUpdate", "SecurityEventNotification",
     "SignCertificate", "StatusNotification", "TransactionEvent"}
)  # fmt: skip
FROM_CHARGER: dict[str, frozenset[str]] = {
    "1.6": frozenset(
        {
            "Authorize",
            "BootNotification",
            "DiagnosticsStatusNotification",
            "FirmwareStatusNotification",
            "Heartbeat",
            "MeterValues",
            "StartTransaction",
            "StatusNotification",
            "StopTransaction",
            "SecurityEventNotification",
            "SignCertificate",
            "SignedFirmwareStatusNotification",
            "LogStatusNotification",
        }
    ),
    "2.0.1": _V2_FROM_CHARGER,
    "2.1": _V2_FROM_CHARGER
    | {
        "BatterySwap",
        "ClosePeriodicEventStream",
        "GetCertificateChainStatus",
        "NotifyDERAlarm",
        "NotifyDERStartStop",
        "NotifyPeriodicEventStream",
        "NotifyPriorityCharging",
        "NotifySettlement",
        "OpenPeriodicEventStream",
        "PullDynamicScheduleUpdate",
        "ReportDERControl",
        "VatNumberValidation",
    },
}
"""Actions only a charger sends (DataTransfer goes both ways)."""


def csms_action(version: OcppVersion, action: str) -> str | None:
    """Why `action` cannot be sent to a charger of `version`, or None when it can."""
    if not is_known_action(version, action):
        return f"OCPP {version} has no action {action!r}"
    if action in FROM_CHARGER[version]:
        return f"{action} is sent by chargers, not to them"
    return None


class RawCalls:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    def register(self, router: CommandRouter) -> None:
        router.register(DeviceKind.CHARGER, "ocpp", self.call)

    async def call(self, request: CommandRequest, args: RawOcppCommand) -> CommandResult:
        if not self._hub.config.allow_raw_calls:
            raise CommandRejected(
                "raw OCPP calls are off: set ocpp.allow_raw_calls: true to allow them"
            )
        session = online_session(self._hub, request.device_id)
        problem = csms_action(session.version, args.action)
        if problem is not None:
            raise InvalidCommand(problem)
        session.log.warning("raw_call", action=args.action, request_id=request.request_id)
        answer: Any = await call_charger(self._hub, session, args.action, dict(args.payload))
        detail = answer if isinstance(answer, dict) else {"answer": answer}
        return CommandResult.accepted(**detail)
