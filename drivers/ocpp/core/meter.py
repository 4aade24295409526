"""MeterValues -> ChargerTelemetry (OCPP 1.6 §4.7 / §7.23 SampledValue, 2.0.1 J01 / §2.42).

One `meterValue` element (one timestamp) becomes one telemetry record. Field quirks tolerated:
values as JSON numbers in 1.6 (the schema says string) and as strings in 2.x, decimal commas,
units in any case, unknown measurands / units / phases / contexts (skipped, counted), and
timestamps from an unset clock (dropped, the gateway's receive time is used instead).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from drivers.ocpp.core.measurands import CONTEXTS, MEASURANDS, PHASES, convert
from drivers.ocpp.core.timestamps import parse_timestamp
from gateway.foundation.model import ChargerId, ChargerTelemetry, PhaseValues
from gateway.foundation.model.fields import measured_fields

__all__ = ["MeterSample", "read_meter_value"]

_ENERGY = "Energy.Active.Import.Register"
_PLAUSIBLE = 1e15
"""Largest magnitude kept, in the model's units (1 PWh): beyond it a sampled value is skipped
like an unknown measurand, so sums and unit scaling can never overflow to infinity."""
_MAX_MULTIPLIER = 24
"""|unitOfMeasure.multiplier| beyond this is no power of ten a meter uses (10.0**400 overflows)."""

_EXPORT = "power_export_w"
"""Power.Active.Export: no value of its own, subtracted from `power_w` (load convention)."""
_PHASE_REST = measured_fields(PhaseValues)[1:]
"""A phase's values after `power_w`, in the record's order (taken as measured)."""


def _check_tables() -> None:
    """Every measurand feeds a value of the records: the totals are the record's keywords."""
    values = set(measured_fields(ChargerTelemetry))
    stray = {name for name, _ in MEASURANDS.values()} - values - {_EXPORT}
    if stray or measured_fields(PhaseValues)[0] != "power_w":
        raise RuntimeError(f"measurands without a ChargerTelemetry value: {sorted(stray)}")


_check_tables()


@dataclass(slots=True)
class MeterSample:
    """One translated meterValue element: the record plus what the caller needs for sessions."""

    telemetry: ChargerTelemetry
    context: str | None
    """The reading context (`Transaction.Begin`, `Sample.Periodic`, ...), None if not given."""
    skipped: list[str] = field(default_factory=list)
    """Sampled values that were not used, as `measurand/unit` (for a debug log line)."""


def _number(raw: object) -> float | None:
    kind = type(raw)
    if kind is str:  # the common cases first: 1.6 sends text, 2.x numbers
        try:  # float() skips surrounding whitespace itself; a decimal comma fails here
            value = float(raw)  # type: ignore[arg-type]
        except ValueError:
            pass
        else:
            return value if abs(value) <= _PLAUSIBLE else None
    elif kind is float or kind is int:
        value = float(raw)  # type: ignore[arg-type]
        return value if abs(value) <= _PLAUSIBLE else None
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        try:
            value = float(text)
        except ValueError:
            return None
    else:
        return None
    return value if abs(value) <= _PLAUSIBLE else None


def _unit_v16(sv: Mapping[str, Any]) -> tuple[str | None, int]:
    unit = sv.get("unit")
    return (unit if isinstance(unit, str) else None), 0


def _unit_v2(sv: Mapping[str, Any]) -> tuple[str | None, int]:
    uom = sv.get("unitOfMeasure")
    if type(uom) is not dict and not isinstance(uom, Mapping):
        return None, 0
    unit = uom.get("unit")
    multiplier = uom.get("multiplier", 0)
    return (unit if isinstance(unit, str) else None), (
        multiplier if isinstance(multiplier, int) else 0
    )


def read_meter_value(
    meter_value: Mapping[str, Any],
    *,
    charger_id: ChargerId,
    evse: int,
    transaction_id: str | None,
    now_s: float,
    v2: bool,
) -> MeterSample:
    """Translate one meterValue element (1.6 MeterValue / 2.x MeterValueType)."""
    unit_of = _unit_v2 if v2 else _unit_v16
    totals: dict[str, float] = {}
    phases: dict[str, dict[str, float]] = {}
    context: str | None = None
    skipped: list[str] = []
    sampled = meter_value.get("sampledValue")
    for sv in sampled if isinstance(sampled, list) else ():
        if type(sv) is not dict and not isinstance(sv, Mapping):
            continue
        measurand = sv.get("measurand", _ENERGY)
        entry = MEASURANDS.get(measurand) if isinstance(measurand, str) else None
        unit, multiplier = unit_of(sv)
        value = _number(sv.get("value"))
        if entry is None or value is None:
            skipped.append(f"{measurand}/{unit}")
            continue
        name, base = entry
        if multiplier:
            value = value * 10.0**multiplier if abs(multiplier) <= _MAX_MULTIPLIER else math.inf
        converted = convert(value, unit, base)
        if converted is None or not abs(converted) <= _PLAUSIBLE:
            skipped.append(f"{measurand}/{unit}")
            continue
        ctx = sv.get("context")
        if context is None and ctx in CONTEXTS:
            context = ctx
        phase = sv.get("phase")
        if phase is None:
            totals[name] = converted
        elif phase in PHASES:
            phases.setdefault(PHASES[phase], {})[name] = converted
        else:
            skipped.append(f"{measurand}/{phase}")
    sampled_at = parse_timestamp(meter_value.get("timestamp"), now_s)
    telemetry = _telemetry(totals, phases, charger_id, evse, transaction_id, sampled_at)
    return MeterSample(telemetry, context, skipped)


def _telemetry(
    totals: dict[str, float],
    phases: dict[str, dict[str, float]],
    charger_id: ChargerId,
    evse: int,
    transaction_id: str | None,
    sampled_at: datetime | None,
) -> ChargerTelemetry:
    per_phase: dict[str, PhaseValues] | None = None
    if phases:
        per_phase = {}
        for name, values in sorted(phases.items()):
            power = values.get("power_w")
            if "power_export_w" in values:
                power = (power or 0.0) - values["power_export_w"]
            per_phase[name] = PhaseValues(power, *map(values.get, _PHASE_REST))
        lines = [v for p, v in phases.items() if p != "N"]
        for name in ("power_w", "power_export_w", "energy_wh", "energy_export_wh"):
            if name not in totals:
                parts = [v[name] for v in lines if name in v]
                if parts:
                    totals[name] = sum(parts)
        if "current_a" not in totals:
            currents = [v["current_a"] for v in lines if "current_a" in v]
            if currents:
                totals["current_a"] = max(currents)
        if "voltage_v" not in totals:
            volts = [v["voltage_v"] for v in lines if "voltage_v" in v]
            if volts:
                totals["voltage_v"] = sum(volts) / len(volts)
    export = totals.pop(_EXPORT, None)
    if export is not None:
        totals["power_w"] = (totals.get("power_w") or 0.0) - export
    if not totals.get("current_export_a"):
        most = _most(phases, "current_export_a")
        if most is None:
            totals.pop("current_export_a", None)
        else:
            totals["current_export_a"] = most
    # The totals are named after the record's values (MEASURANDS, checked at import).
    return ChargerTelemetry(
        charger_id,
        evse,
        phases=per_phase,
        transaction_id=transaction_id,
        sampled_at=sampled_at,
        **totals,
    )


def _most(phases: dict[str, dict[str, float]], name: str) -> float | None:
    values = [v[name] for p, v in phases.items() if name in v and p != "N"]
    return max(values) if values else None
