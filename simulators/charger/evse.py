"""One EVSE (1.6: connector) with its meter, plugged EV and running session."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from simulators.charger.ev import EvSpec, accepted_charge_w, integrate_soc, target_power_w
from simulators.charger.meter import Reading
from simulators.charger.schedule import Limit

__all__ = ["ChargingSession", "ChargingState", "Evse", "EvseStatus"]


class EvseStatus(StrEnum):
    """1.6 ChargePointStatus (§7.7); the 2.x connector status is derived from it."""

    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    FINISHING = "Finishing"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"

    @property
    def connector_status_v2(self) -> str:
        """2.x ConnectorStatusEnumType: Available, Occupied, Reserved, Unavailable, Faulted."""
        if self in (EvseStatus.AVAILABLE, EvseStatus.RESERVED, EvseStatus.UNAVAILABLE):
            return self.value
        if self is EvseStatus.FAULTED:
            return "Faulted"
        return "Occupied"


class ChargingState(StrEnum):
    """2.x ChargingStateEnumType."""

    EV_CONNECTED = "EVConnected"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    IDLE = "Idle"


@dataclass
class ChargingSession:
    """A transaction from the charger's side.

    1.6: `transaction_id` stays None until StartTransaction.conf arrives (it may be 0);
    2.x: the charger makes it up at start.
    """

    id_tag: str
    started_at: float
    meter_start_wh: float
    transaction_id: str | None = None
    seq_no: int = 0
    remote_start_id: int | None = None
    id_token_type: str = "ISO14443"
    reservation_id: int | None = None  # the reservation this session used
    stop_at: float | None = None  # scenario: end the session at this simulated time
    until_soc_pct: float | None = None  # scenario: end the session at this SoC
    unplug_on_stop: bool = False
    ended: bool = False

    def next_seq(self) -> int:
        """2.x TransactionEvent seqNo: 0, 1, 2 ... per transaction."""
        seq = self.seq_no
        self.seq_no += 1
        return seq


@dataclass
class Evse:
    """State and physics of one EVSE; the station combines several under one cap."""

    id: int
    phases: int
    voltage_v: float
    max_power_w: float
    max_discharge_w: float = 0.0
    status: EvseStatus = EvseStatus.AVAILABLE
    operative: bool = True
    pending_operative: bool | None = None  # ChangeAvailability answered "Scheduled"
    ev: EvSpec | None = None
    soc_pct: float | None = None
    energy_import_wh: float = 0.0
    energy_export_wh: float = 0.0
    power_w: float = 0.0
    limit: Limit = field(default_factory=Limit)
    session: ChargingSession | None = None
    reported_state: ChargingState | None = None
    finishing: bool = False  # 1.6 "Finishing": session over, cable still in
    reserved: bool = False  # held by a reservation (reservations.py)

    @property
    def plugged(self) -> bool:
        return self.ev is not None

    @property
    def min_charge_w(self) -> float:
        """IEC 61851-1: below 6 A per phase the EV pauses."""
        return 6.0 * self.phases * self.voltage_v

    @property
    def energy_wh(self) -> float:
        """The meter register as OCPP reports it (import)."""
        return self.energy_import_wh

    def reading(self) -> Reading:
        return Reading(
            energy_import_wh=self.energy_import_wh,
            energy_export_wh=self.energy_export_wh,
            power_w=self.power_w,
            phases=self.phases,
            voltage_v=self.voltage_v,
            soc_pct=self.soc_pct,
        )

    def integrate(self, dt_s: float) -> None:
        """Advance meter and SoC by `dt_s` simulated seconds at the present power."""
        if dt_s <= 0 or self.power_w == 0:
            return
        energy = self.power_w * dt_s / 3600.0
        if energy > 0:
            self.energy_import_wh += energy
        else:
            self.energy_export_wh -= energy
        if self.ev is not None and self.soc_pct is not None:
            self.soc_pct = integrate_soc(self.soc_pct, self.power_w, dt_s, self.ev.capacity_kwh)

    def wanted_power_w(self) -> float:
        """Power before the station cap: zero without a session, else EV, hardware and limit."""
        if self.session is None or self.ev is None or self.soc_pct is None or not self.operative:
            return 0.0
        return target_power_w(
            ev=self.ev,
            soc_pct=self.soc_pct,
            hardware_max_w=self.max_power_w,
            limit_w=self.limit.charge_w,
            setpoint_w=self.limit.setpoint_w,
            discharge_limit_w=self.limit.discharge_limit_w,
            hardware_discharge_w=self.max_discharge_w,
            min_charge_w=self.min_charge_w,
        )

    def charging_state(self) -> ChargingState:
        if self.session is None:
            return ChargingState.EV_CONNECTED if self.plugged else ChargingState.IDLE
        if self.power_w != 0:
            return ChargingState.CHARGING
        if self.ev is None or self.soc_pct is None:
            return ChargingState.EV_CONNECTED
        if accepted_charge_w(self.ev, self.soc_pct) <= 0 and self.limit.setpoint_w is None:
            return ChargingState.SUSPENDED_EV
        return ChargingState.SUSPENDED_EVSE

    def derived_status(self) -> EvseStatus:
        """The 1.6 status this EVSE should report now."""
        if self.status is EvseStatus.FAULTED:
            return self.status
        if self.session is not None:
            return {
                ChargingState.CHARGING: EvseStatus.CHARGING,
                ChargingState.SUSPENDED_EV: EvseStatus.SUSPENDED_EV,
                ChargingState.SUSPENDED_EVSE: EvseStatus.SUSPENDED_EVSE,
            }.get(self.charging_state(), EvseStatus.CHARGING)
        if not self.operative:
            return EvseStatus.UNAVAILABLE
        if self.plugged:
            return EvseStatus.FINISHING if self.finishing else EvseStatus.PREPARING
        if self.reserved:
            return EvseStatus.RESERVED
        return EvseStatus.AVAILABLE
