"""Electric-vehicle physics: what power the battery accepts and how SoC follows the power.

Pure functions of plain values; no clock, no I/O. Power uses the load convention of the whole
project: positive charges the EV, negative discharges it (V2G).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "EvSpec",
    "accepted_charge_w",
    "available_discharge_w",
    "integrate_soc",
    "target_power_w",
]


@dataclass(frozen=True)
class EvSpec:
    """One vehicle as the charger sees it."""

    capacity_kwh: float = 60.0
    initial_soc_pct: float = 20.0
    max_charge_w: float = 11_000.0  # on-board charger (AC) or vehicle limit (DC)
    max_discharge_w: float = 11_000.0  # used only when charger and EV are bidirectional
    taper_start_pct: float = 80.0  # above this the battery takes less and less
    target_soc_pct: float = 100.0  # the EV stops charging here
    min_soc_pct: float = 20.0  # V2G never drains below this

    def __post_init__(self) -> None:
        if self.capacity_kwh <= 0:
            raise ValueError("capacity_kwh must be positive")
        if not 0 <= self.initial_soc_pct <= 100:
            raise ValueError("initial_soc_pct must be within 0..100")


def accepted_charge_w(ev: EvSpec, soc_pct: float) -> float:
    """Charge power the EV draws at this SoC when nothing limits it.

    Constant up to `taper_start_pct`, then falling linearly to a trickle (5 %) just below 100 %,
    like the CC/CV curve of a lithium battery; zero once the target SoC is reached.
    """
    if soc_pct >= min(ev.target_soc_pct, 100.0):
        return 0.0
    if soc_pct <= ev.taper_start_pct:
        return ev.max_charge_w
    span = max(100.0 - ev.taper_start_pct, 1e-9)
    fraction = max(0.05, (100.0 - soc_pct) / span)
    return ev.max_charge_w * fraction


def available_discharge_w(ev: EvSpec, soc_pct: float) -> float:
    """Largest V2G power (positive number) the EV offers at this SoC."""
    return ev.max_discharge_w if soc_pct > ev.min_soc_pct else 0.0


def integrate_soc(soc_pct: float, power_w: float, dt_s: float, capacity_kwh: float) -> float:
    """SoC after `dt_s` seconds at `power_w` (losses ignored), kept within 0..100 %."""
    delta_pct = power_w * dt_s / 3600.0 / (capacity_kwh * 1000.0) * 100.0
    return min(100.0, max(0.0, soc_pct + delta_pct))


def target_power_w(
    *,
    ev: EvSpec,
    soc_pct: float,
    hardware_max_w: float,
    limit_w: float | None,
    setpoint_w: float | None = None,
    discharge_limit_w: float | None = None,
    hardware_discharge_w: float = 0.0,
    min_charge_w: float = 0.0,
) -> float:
    """The power the EVSE and EV settle on within one meter interval.

    `limit_w` is the charging-profile limit (None: no profile); a negative limit or a
    `setpoint_w` below zero asks for discharge, honoured only up to `hardware_discharge_w`
    (zero for a unidirectional charger). A limit below `min_charge_w` (IEC 61851: 6 A)
    pauses charging; the EV's own taper may go lower.
    """
    charge_cap = min(hardware_max_w, accepted_charge_w(ev, soc_pct))
    if limit_w is not None and limit_w >= 0:
        charge_cap = min(charge_cap, limit_w)
    discharge_cap = min(hardware_discharge_w, available_discharge_w(ev, soc_pct))
    if discharge_limit_w is not None:
        discharge_cap = min(discharge_cap, abs(discharge_limit_w))

    if setpoint_w is not None:
        wanted = setpoint_w
    elif limit_w is not None and limit_w < 0:
        wanted = limit_w
        discharge_cap = min(discharge_cap, abs(limit_w))
    else:
        wanted = charge_cap

    if wanted >= 0:
        if limit_w is not None and 0 <= limit_w < min_charge_w:
            return 0.0  # the EVSE cannot offer the minimum current: the EV pauses
        return min(wanted, max(charge_cap, 0.0))
    return -min(-wanted, max(discharge_cap, 0.0))
