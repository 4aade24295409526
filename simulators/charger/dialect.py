"""What differs between OCPP 1.6 and 2.x on the charge point's sending side.

A dialect turns the station's state into CALL payloads (camelCase dicts); the station decides
*when*. Stop reasons live in one table instead of branches in each dialect.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from simulators.charger.config import OcppVersion
from simulators.charger.evse import ChargingSession, Evse, EvseStatus
from simulators.charger.txqueue import QueuedMessage

__all__ = [
    "STOP_REASONS",
    "Dialect",
    "SkipMessageError",
    "StopReason",
    "StopReasonNames",
]


class SkipMessageError(Exception):
    """Raised by a payload builder when the message has lost its meaning (tx never started)."""


class StopReason(StrEnum):
    LOCAL = "local"
    REMOTE = "remote"
    EV_DISCONNECTED = "ev_disconnected"
    SOC_LIMIT = "soc_limit"
    TIME_LIMIT = "time_limit"
    DEAUTHORIZED = "deauthorized"
    SOFT_RESET = "soft_reset"
    HARD_RESET = "hard_reset"
    UNLOCK = "unlock"
    OTHER = "other"


@dataclass(frozen=True)
class StopReasonNames:
    v16: str  # 1.6 StopTransaction.reason (§7.42 Reason)
    v2_stopped: str  # 2.x transactionInfo.stoppedReason (ReasonEnumType)
    v2_trigger: str  # 2.x TransactionEvent Ended triggerReason


STOP_REASONS: dict[StopReason, StopReasonNames] = {
    StopReason.LOCAL: StopReasonNames("Local", "Local", "StopAuthorized"),
    StopReason.REMOTE: StopReasonNames("Remote", "Remote", "RemoteStop"),
    StopReason.EV_DISCONNECTED: StopReasonNames("EVDisconnected", "EVDisconnected", "EVDeparted"),
    StopReason.SOC_LIMIT: StopReasonNames("Local", "SOCLimitReached", "EnergyLimitReached"),
    StopReason.TIME_LIMIT: StopReasonNames("Local", "TimeLimitReached", "TimeLimitReached"),
    StopReason.DEAUTHORIZED: StopReasonNames("DeAuthorized", "DeAuthorized", "Deauthorized"),
    StopReason.SOFT_RESET: StopReasonNames("SoftReset", "Reboot", "ResetCommand"),
    StopReason.HARD_RESET: StopReasonNames("HardReset", "ImmediateReset", "ResetCommand"),
    StopReason.UNLOCK: StopReasonNames("UnlockCommand", "Other", "UnlockCommand"),
    StopReason.OTHER: StopReasonNames("Other", "Other", "AbnormalCondition"),
}


class Dialect(Protocol):
    version: OcppVersion

    def boot(self, reason: str) -> tuple[str, dict[str, Any]]: ...

    def heartbeat(self) -> tuple[str, dict[str, Any]]: ...

    def authorize(self, id_tag: str) -> tuple[str, dict[str, Any]]: ...

    def id_accepted(self, response: dict[str, Any]) -> bool: ...

    def status(self, evse_id: int, status: EvseStatus) -> QueuedMessage: ...

    def tx_started(self, evse: Evse, session: ChargingSession, trigger: str) -> QueuedMessage: ...

    def tx_meter(self, evse: Evse, session: ChargingSession, trigger: str) -> QueuedMessage: ...

    def tx_state_changed(self, evse: Evse, session: ChargingSession) -> QueuedMessage | None: ...

    def tx_ended(self, evse: Evse, session: ChargingSession, reason: StopReason) -> QueuedMessage: ...

    def meter_values(self, evse: Evse, context: str) -> tuple[str, dict[str, Any]]: ...
