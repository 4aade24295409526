"""Retained device state: the digital twin a control centre reads when it (re)connects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from gateway.foundation.model.fast_init import fast_init
from gateway.foundation.model.ids import ChargerId, DeviceId

__all__ = [
    "ActiveTransaction",
    "ChargerLimit",
    "ChargerState",
    "EvNeeds",
    "EvseState",
    "LimitPeriod",
    "MeterState",
    "SetpointState",
    "StorageMode",
    "StorageState",
]

StorageMode = Literal["idle", "manual", "auto"]


@fast_init
@dataclass(frozen=True, slots=True)
class EvseState:
    """Connector/EVSE status in OCPP terms (`Available`, `Charging`, `Faulted`, ...)."""

    status: str
    error_code: str | None = None
    connectors: Mapping[int, str] | None = None
    """Per-connector status for 2.x chargers with several connectors on one EVSE."""


@fast_init
@dataclass(frozen=True, slots=True)
class ActiveTransaction:
    transaction_id: str
    evse: int
    id_tag: str | None
    started_at: datetime | None
    meter_start_wh: float | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class LimitPeriod:
    """One period of a limit's schedule, from `offset_s` after its start (or the transaction's)."""

    offset_s: int
    power_w: float
    current_a: float
    phases: int | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class ChargerLimit:
    """A charging limit the charger holds, as the gateway sent it (None fields: not applicable).

    `power_w`/`current_a` are the value of a one-value limit; a schedule's periods are in
    `schedule`. `purpose` is `charger_max`, `tx_default` or `tx`; `kind` `absolute`,
    `relative` or `recurring` (with `recurrency`).
    """

    evse: int
    power_w: float | None = None
    current_a: float | None = None
    expires_at: datetime | None = None
    source: str = "command"
    purpose: str | None = None
    kind: str | None = None
    stack_level: int | None = None
    profile_id: int | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    schedule: tuple[LimitPeriod, ...] | None = None
    start: datetime | None = None
    recurrency: str | None = None
    transaction_id: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class EvNeeds:
    """An EV's charging needs and its own schedule, as the charger reported them (ISO 15118)."""

    energy_wh: float | None = None
    departure_time: datetime | None = None
    transfer_mode: str | None = None
    max_charge_power_w: float | None = None
    max_discharge_power_w: float | None = None
    min_discharge_power_w: float | None = None
    discharge_energy_wh: float | None = None
    target_soc_pct: float | None = None
    ev_schedule: tuple[LimitPeriod, ...] | None = None
    ev_schedule_start: datetime | None = None
    updated_at: datetime | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class ChargerState:
    charger_id: ChargerId
    connected: bool
    ocpp_version: str | None = None
    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    evses: Mapping[int, EvseState] = field(default_factory=dict)
    transactions: tuple[ActiveTransaction, ...] = ()
    limits: tuple[ChargerLimit, ...] = ()
    """Each source's limit (`command`: the control centre, `controller`: the site controller,
    `rating`: the config), per EVSE, and each explicit charging profile (with a `purpose`)."""
    last_seen: datetime | None = None
    reason: str | None = None
    """Why the state changed when it was not the charger's doing (e.g. a lapsed limit lease)."""
    limit_in_force: Mapping[int, ChargerLimit] = field(default_factory=dict)
    """Per EVSE, the lowest of the sources' limits: what the charger was told."""
    ev_needs: Mapping[int, EvNeeds] = field(default_factory=dict)
    """Per EVSE: what the EV asked for (2.x NotifyEVChargingNeeds / NotifyEVChargingSchedule)."""
    provision: Mapping[str, Mapping[str, Any]] | None = None
    """Outcome per `ocpp.chargers[].provision` key after the latest boot."""
    firmware_update: Mapping[str, Any] | None = None
    """The latest `update_firmware` request: status, request_id, updated_at, version check."""
    reservations: tuple[Mapping[str, Any], ...] = ()
    """Reservations in force (reservation_id, evse, id_tag, expires_at)."""


@fast_init
@dataclass(frozen=True, slots=True)
class SetpointState:
    power_w: float
    expires_at: datetime | None
    source: str = "command"


@fast_init
@dataclass(frozen=True, slots=True)
class StorageState:
    device_id: DeviceId
    connected: bool
    mode: StorageMode = "idle"
    setpoint: SetpointState | None = None
    max_charge_w: float | None = None
    max_discharge_w: float | None = None
    soc_min_pct: float | None = None
    soc_max_pct: float | None = None
    fallback_power_w: float = 0.0
    alarms: tuple[str, ...] = ()
    identity: Mapping[str, Any] | None = None
    """Manufacturer, model, serial, firmware as the device reports them."""
    reason: str | None = None
    """Why the state last changed when the gateway did it (e.g. `lease_expired`, `mqtt_lost`)."""


@fast_init
@dataclass(frozen=True, slots=True)
class MeterState:
    device_id: DeviceId
    connected: bool
    identity: Mapping[str, Any] | None = None
    reason: str | None = None
