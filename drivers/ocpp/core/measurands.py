"""Measurand and unit tables: which OCPP measurand feeds which model field, in which unit.

OCPP 1.6 §7.31 Measurand / §7.45 UnitOfMeasure and 2.0.1 §2.14 / §3.58 list the values; only
the measurands the unified model has a field for are mapped, the rest are ignored (not an
error: chargers report many more). Values are converted to the model's base units (W, Wh, A,
V, %, Hz, °C); 2.x `unitOfMeasure.multiplier` is a power of ten applied on top.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["CONTEXTS", "MEASURANDS", "PHASES", "UNITS", "convert"]

MEASURANDS: dict[str, tuple[str, str]] = {
    "Energy.Active.Import.Register": ("energy_wh", "Wh"),
    "Energy.Active.Export.Register": ("energy_export_wh", "Wh"),
    "Power.Active.Import": ("power_w", "W"),
    "Power.Active.Export": ("power_export_w", "W"),
    "Current.Import": ("current_a", "A"),
    "Current.Export": ("current_export_a", "A"),
    "Voltage": ("voltage_v", "V"),
    "SoC": ("soc_pct", "Percent"),
    "Frequency": ("frequency_hz", "Hz"),
    "Temperature": ("temperature_c", "Celsius"),
    "Power.Offered": ("power_offered_w", "W"),
}
"""measurand -> (field, base unit). A missing measurand means the energy register (1.6 §7.31)."""

_IDENTITY: Callable[[float], float] = float

UNITS: dict[str, tuple[str, Callable[[float], float]]] = {
    "wh": ("Wh", _IDENTITY),
    "kwh": ("Wh", lambda v: v * 1000.0),
    "w": ("W", _IDENTITY),
    "kw": ("W", lambda v: v * 1000.0),
    "a": ("A", _IDENTITY),
    "v": ("V", _IDENTITY),
    "percent": ("Percent", _IDENTITY),
    "%": ("Percent", _IDENTITY),
    "celsius": ("Celsius", _IDENTITY),
    "celcius": ("Celsius", _IDENTITY),  # sic: the OCPP 1.6 enum spells it so
    "fahrenheit": ("Celsius", lambda v: (v - 32.0) * 5.0 / 9.0),
    "k": ("Celsius", lambda v: v - 273.15),
    "hz": ("Hz", _IDENTITY),
    "hertz": ("Hz", _IDENTITY),
}
"""Unit (compared case-insensitively: `kwh`, `KWh` are seen) -> (base unit, conversion)."""

PHASES: dict[str, str] = {
    "L1": "L1",
    "L2": "L2",
    "L3": "L3",
    "N": "N",
    "L1-N": "L1",
    "L2-N": "L2",
    "L3-N": "L3",
}
"""Phase as published: line-to-neutral values are filed under their line."""

CONTEXTS = frozenset(
    {
        "Interruption.Begin",
        "Interruption.End",
        "Other",
        "Sample.Clock",
        "Sample.Periodic",
        "Transaction.Begin",
        "Transaction.End",
        "Trigger",
    }
)


def convert(value: float, unit: str | None, base: str) -> float | None:
    """`value` in `unit` expressed in `base`, or None when the unit does not fit the measurand.

    A missing unit means the measurand's default unit (1.6 §7.45, 2.0.1 UnitOfMeasureType).
    """
    if unit is None or unit == base:
        return value
    entry = UNITS.get(unit.casefold())
    if entry is None:
        # Frequency has no unit in 1.6 and percent is spelled in several ways: be lenient
        # only where the measurand cannot be misread.
        return value if base in ("Hz", "Percent") and unit == "" else None
    unit_base, conversion = entry
    if unit_base != base:
        return None
    return conversion(value)
