"""Session energy and unit-label sanity (transactions are money: get the Wh right).

`energy_wh` of a transaction is the meter now minus the meter at start (interfaces.md). Some
chargers label kWh readings `Wh` or the reverse; an energy register only grows and grows
slowly, so a reading a thousand times off the previous one of the same EVSE is a mislabel,
and is corrected. Power is checked against the charger's configured maximum the same way.
"""

from __future__ import annotations

__all__ = ["correct_energy_scale", "correct_power_scale", "session_energy_wh"]

_NEAR = 0.2
"""A corrected reading must land within ±20 % of the reference (registers creep, not jump)."""


def correct_energy_scale(value_wh: float, reference_wh: float | None) -> float:
    """Undo a kWh/Wh mislabel that the previous reading of the same register reveals."""
    if reference_wh is None or reference_wh <= 0 or value_wh <= 0:
        return value_wh
    ratio = value_wh / reference_wh
    if ratio < 0.01 and abs(value_wh * 1000.0 / reference_wh - 1.0) <= _NEAR:
        return value_wh * 1000.0  # kWh labelled Wh
    if ratio > 100 and abs(value_wh / 1000.0 / reference_wh - 1.0) <= _NEAR:
        return value_wh / 1000.0  # Wh labelled kWh
    return value_wh


def correct_power_scale(power_w: float, max_power_w: float) -> float:
    """A power far beyond the charger's rating but plausible divided by 1000 was W-as-kW."""
    if abs(power_w) > 20 * max_power_w and abs(power_w) / 1000.0 <= 1.5 * max_power_w:
        return power_w / 1000.0
    return power_w


def session_energy_wh(meter_start_wh: float | None, meter_now_wh: float | None) -> float | None:
    """Meter now minus meter at start; None when either is unknown or the meter went back."""
    if meter_start_wh is None or meter_now_wh is None:
        return None
    energy = meter_now_wh - meter_start_wh
    return round(energy, 3) if energy >= 0 else None
