"""The unified model: typed records with units in their names and one sign convention."""

from gateway.foundation.model.commands import (
    CommandRequest,
    CommandResult,
    CommandSource,
    CommandStatus,
)
from gateway.foundation.model.ids import ChargerId, DeviceId, DeviceKind
from gateway.foundation.model.records import (
    ChargerConfigReport,
    ChargerEvent,
    ChargerTelemetry,
    MeterTelemetry,
    PhaseValues,
    SiteTelemetry,
    StorageTelemetry,
    TransactionEvent,
    TransactionEventKind,
)
from gateway.foundation.model.site_records import FlexibilityPart, SiteEvent, SiteFlexibility
from gateway.foundation.model.state import (
    ActiveTransaction,
    ChargerLimit,
    ChargerState,
    EvNeeds,
    EvseState,
    LimitPeriod,
    MeterState,
    SetpointState,
    StorageMode,
    StorageState,
)
from gateway.foundation.model.versions import OcppVersion

Record = (
    ChargerTelemetry
    | TransactionEvent
    | ChargerEvent
    | ChargerConfigReport
    | StorageTelemetry
    | MeterTelemetry
    | SiteTelemetry
    | SiteEvent
    | SiteFlexibility
    | ChargerState
    | StorageState
    | MeterState
)
"""Everything that goes to MQTT through the outbox."""

__all__ = [
    "ActiveTransaction",
    "ChargerConfigReport",
    "ChargerEvent",
    "ChargerId",
    "ChargerLimit",
    "ChargerState",
    "ChargerTelemetry",
    "CommandRequest",
    "CommandResult",
    "CommandSource",
    "CommandStatus",
    "DeviceId",
    "DeviceKind",
    "EvNeeds",
    "EvseState",
    "FlexibilityPart",
    "LimitPeriod",
    "MeterState",
    "MeterTelemetry",
    "OcppVersion",
    "PhaseValues",
    "Record",
    "SetpointState",
    "SiteEvent",
    "SiteFlexibility",
    "SiteTelemetry",
    "StorageMode",
    "StorageState",
    "StorageTelemetry",
    "TransactionEvent",
    "TransactionEventKind",
]
