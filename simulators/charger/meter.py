"""Meter readings and their OCPP sampled-value form (pure).

1.6 (§7.43 SampledValue) carries every value as a decimal string with `unit`; 2.x
(SampledValueType) carries numbers with `unitOfMeasure`. Import and export are separate
registers, so a V2G session shows up as Energy.Active.Export.Register and Power.Active.Export.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Reading", "sampled_values_v2", "sampled_values_v16"]

_PHASES = ("L1", "L2", "L3")


@dataclass(frozen=True)
class Reading:
    """What the EVSE's meter shows at one moment."""

    energy_import_wh: float
    energy_export_wh: float
    power_w: float  # load convention: negative is V2G
    phases: int
    voltage_v: float
    soc_pct: float | None = None

    @property
    def current_a(self) -> float:
        """Per-phase current magnitude."""
        return abs(self.power_w) / (self.phases * self.voltage_v)


def _samples(reading: Reading, bidirectional: bool) -> list[tuple[str, float, str, str | None]]:
    """(measurand, value, unit, phase) rows shared by both encodings."""
    importing = reading.power_w >= 0
    rows: list[tuple[str, float, str, str | None]] = [
        ("Energy.Active.Import.Register", round(reading.energy_import_wh, 1), "Wh", None),
    ]
    if bidirectional or reading.energy_export_wh > 0:
        rows.append(
            ("Energy.Active.Export.Register", round(reading.energy_export_wh, 1), "Wh", None)
        )
    if importing:
        rows.append(("Power.Active.Import", round(reading.power_w, 1), "W", None))
    else:
        rows.append(("Power.Active.Export", round(-reading.power_w, 1), "W", None))
    current = "Current.Import" if importing else "Current.Export"
    for phase in _PHASES[: reading.phases]:
        rows.append((current, round(reading.current_a, 2), "A", phase))
    for phase in _PHASES[: reading.phases]:
        rows.append(("Voltage", round(reading.voltage_v, 1), "V", f"{phase}-N"))
    if reading.soc_pct is not None:
        rows.append(("SoC", round(reading.soc_pct, 1), "Percent", None))
    return rows


def _decimal(value: float) -> str:
    """Plain decimal text (never exponent notation), as 1.6 meter values are read by humans."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def sampled_values_v16(
    reading: Reading, context: str = "Sample.Periodic", *, bidirectional: bool = False
) -> list[dict[str, Any]]:
    """1.6 sampledValue list: values as strings, as the schema requires."""
    out: list[dict[str, Any]] = []
    for measurand, value, unit, phase in _samples(reading, bidirectional):
        item: dict[str, Any] = {
            "value": _decimal(value),
            "context": context,
            "measurand": measurand,
            "location": "EV" if measurand == "SoC" else "Outlet",
            "unit": unit,
        }
        if phase:
            item["phase"] = phase
        out.append(item)
    return out


def sampled_values_v2(
    reading: Reading, context: str = "Sample.Periodic", *, bidirectional: bool = False
) -> list[dict[str, Any]]:
    """2.0.1 / 2.1 sampledValue list: numbers with unitOfMeasure."""
    out: list[dict[str, Any]] = []
    for measurand, value, unit, phase in _samples(reading, bidirectional):
        item: dict[str, Any] = {
            "value": value,
            "context": context,
            "measurand": measurand,
            "location": "EV" if measurand == "SoC" else "Outlet",
            "unitOfMeasure": {"unit": unit},
        }
        if phase:
            item["phase"] = phase
        out.append(item)
    return out
