"""Telemetry and event records of the unified model.

Units are in the field names; power follows the load convention everywhere: positive flows
from the site into the device (EV charging, battery charging, grid import at the meter),
negative flows out of it (V2G, battery discharging, export). A field that the device did not
report is None and is left out of the published payload.

Records are frozen dataclasses with slots: they are built on the hot path for every meter
sample, so they stay cheap (no validation here; drivers validate at their edge).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from gateway.foundation.model.fast_init import fast_init
from gateway.foundation.model.fields import measured
from gateway.foundation.model.ids import ChargerId, DeviceId

__all__ = [
    "ChargerConfigReport",
    "ChargerEvent",
    "ChargerTelemetry",
    "MeterTelemetry",
    "PhaseValues",
    "SiteTelemetry",
    "StorageTelemetry",
    "TransactionEvent",
    "TransactionEventKind",
]

TransactionEventKind = Literal["started", "updated", "ended"]


@fast_init
@dataclass(frozen=True, slots=True)
class PhaseValues:
    """One phase (L1, L2, L3 or N) of an AC measurement."""

    power_w: float | None = measured("Phase power, W. {load}")
    current_a: float | None = measured("Phase current, A")
    voltage_v: float | None = measured("Phase voltage, V")
    energy_wh: float | None = measured("Phase energy register, Wh")


@fast_init
@dataclass(frozen=True, slots=True)
class ChargerTelemetry:
    """One meter sample of one EVSE (or of the whole charger when `evse` is 0)."""

    charger_id: ChargerId
    evse: int
    power_w: float | None = measured("Active power, W. {load}")
    energy_wh: float | None = measured("Energy register of the EVSE, Wh (monotonic)")
    current_a: float | None = measured("Current, A")
    voltage_v: float | None = measured("Voltage, V")
    soc_pct: float | None = measured("EV state of charge, % (only when the EV reports it)")
    frequency_hz: float | None = measured("Grid frequency, Hz")
    temperature_c: float | None = measured("Temperature, °C")
    power_offered_w: float | None = measured("Power the charger offers the EV, W")
    phases: Mapping[str, PhaseValues] | None = None
    transaction_id: str | None = None
    sampled_at: datetime | None = None
    """When the charger took the sample, if its clock looked plausible."""
    energy_export_wh: float | None = measured(
        "Export register of the EVSE (energy an EV gave back, V2G), Wh (monotonic)"
    )
    current_export_a: float | None = measured("Current while an EV discharges (V2G), A")


@fast_init
@dataclass(frozen=True, slots=True)
class TransactionEvent:
    """A charging session started, progressed or ended. Never dropped from the outbox."""

    charger_id: ChargerId
    event: TransactionEventKind
    transaction_id: str
    evse: int
    id_tag: str | None = None
    energy_wh: float | None = None
    """The session's energy so far: meter now minus meter at start."""
    meter_start_wh: float | None = None
    meter_now_wh: float | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    stop_reason: str | None = None
    energy_export_wh: float | None = None
    """Energy the EV gave back in the session (V2G): export register now minus at start."""


@fast_init
@dataclass(frozen=True, slots=True)
class ChargerEvent:
    """Something a charger told us that is neither telemetry nor a transaction.

    `event` is a short snake_case name (`data_transfer`, `firmware_status`,
    `diagnostics_status`, `security_event`, `notify_event`, ...); `data` holds the
    message's fields as the charger sent them.
    """

    charger_id: ChargerId
    event: str
    data: Mapping[str, Any] = field(default_factory=dict)


@fast_init
@dataclass(frozen=True, slots=True)
class ChargerConfigReport:
    """A charger's whole configuration as read at `read_at` (1.6 keys, 2.x device model).

    Each entry has `key` (1.6 key or 2.x `Component/Variable`), `value` and, where they apply,
    `readonly`, `evse`, `connector`, `component_instance`, `instance`, `attribute`, `unit`,
    `data_type`.
    """

    charger_id: ChargerId
    read_at: datetime
    entries: tuple[Mapping[str, Any], ...]
    source: str
    """The OCPP message the report came from: GetConfiguration or GetBaseReport."""


@fast_init
@dataclass(frozen=True, slots=True)
class StorageTelemetry:
    """One poll of a battery inverter."""

    device_id: DeviceId
    power_w: float | None = measured("Battery power, W. {load} Positive charges the battery.")
    soc_pct: float | None = measured("State of charge, %")
    soh_pct: float | None = measured("State of health, %")
    voltage_v: float | None = measured("Voltage, V")
    current_a: float | None = measured("Current, A")
    temperature_c: float | None = measured("Temperature, °C")
    max_charge_w: float | None = measured("Charge power the device allows now, W (≥ 0)")
    max_discharge_w: float | None = measured("Discharge power the device allows now, W (≥ 0)")
    frequency_hz: float | None = measured("Grid frequency, Hz")
    energy_charged_wh: float | None = measured("Energy charged counter, Wh (monotonic)")
    energy_discharged_wh: float | None = measured("Energy discharged counter, Wh (monotonic)")
    capacity_wh: float | None = measured("Rated energy capacity the device reports, Wh")


@fast_init
@dataclass(frozen=True, slots=True)
class MeterTelemetry:
    """One poll of a grid or sub-meter. `energy_wh` is imported energy, `energy_export_wh` exported."""

    device_id: DeviceId
    power_w: float | None = measured(
        "Active power, W. {load} At the grid meter: positive = import."
    )
    energy_wh: float | None = measured("Imported energy register, Wh (monotonic)")
    energy_export_wh: float | None = measured("Exported energy register, Wh (monotonic)")
    frequency_hz: float | None = measured("Frequency, Hz")
    voltage_v: float | None = measured("Voltage, V")
    current_a: float | None = measured("Current, A")
    phases: Mapping[str, PhaseValues] | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class SiteTelemetry:
    """Site totals, computed by the gateway from the latest device records."""

    chargers_power_w: float
    storage_power_w: float
    grid_power_w: float | None = None
    import_limit_w: float | None = None
    export_limit_w: float | None = None
    limit_source: str | None = None
    """Where the limit in force comes from: `config`, `command`, `schedule` or None."""
    target_w: float | None = None
    """The import the controller aims at (the limit less the margin, or a power target)."""
    target_source: str | None = None
    """`limit` (the limit less the margin), `power_target` or `schedule`."""
    import_limit_a: float | None = None
    phase_current_a: Mapping[str, float] | None = None
    """Grid import current per phase (L1..L3), import positive."""
    charger_shares_w: Mapping[str, float | None] | None = None
    """Each controlled charger's share (None: not limited by the controller; 0: paused)."""
    storage_setpoints_w: Mapping[str, float] | None = None
    """The battery's part: each auto-mode battery's setpoint from the controller."""
    failsafe: bool | None = None
    """True while the grid reading is missing and the fail-safe holds."""
