"""MeterValues -> ChargerTelemetry (OCPP 1.6 §4.7 / §7.23 SampledValue, 2.0.1 J01 / §2.42).

One `meterValue` element (one timestamp) becomes one telemetry record. Field quirks tolerated:
values as JSON numbers in 1.6 (the schema says string) and as strings in 2.x, decimal commas,
units in any case, unknown measurands / units / phases / contexts (skipped, counted), and
timestamps from an unset clock (dropped, the gateway's receive time is used instead).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from drivers.ocpp.core.measurands import CONTEXTS, MEASURANDS, PHASES, UNITS, convert
from drivers.ocpp.core.meter_shapes import Kind, Plan, ShapeReader, compile_shape
from drivers.ocpp.core.timestamps import parse_timestamp, parse_timestamp_reference
from gateway.foundation.model import ChargerId, ChargerTelemetry, PhaseValues
from gateway.foundation.model.fields import measured_fields

__all__ = ["MeterSample", "read_meter_value", "read_meter_value_reference", "read_planned"]

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
_SUMMED = ("power_w", "power_export_w", "energy_wh", "energy_export_wh")
"""Totals that are the sum of the lines' values when the charger sends none."""


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


_PLANS: dict[tuple[str, str | None, int, str | None], Plan] = {}
_MAX_PLANS = 4096
"""Distinct plans kept; beyond them (a charger making up units) each one is worked out again."""


def _plan(measurand: str, unit: str | None, multiplier: int, phase: str | None) -> Plan:
    """The reference rules below (`_take`) for one key, as a plan (see `Plan`)."""
    entry = MEASURANDS.get(measurand)
    unit_text = f"{measurand}/{unit}"
    phase_text = f"{measurand}/{phase}"
    where = None if phase is None else PHASES.get(phase, "")
    if entry is None:
        return None, unit_text, None, None, False, where, phase_text
    name, base = entry
    factor = None
    fits = True
    if multiplier:
        if abs(multiplier) <= _MAX_MULTIPLIER:
            factor = 10.0**multiplier
        else:
            fits = False  # the value becomes infinite: never plausible
    conversion: Callable[[float], float] | None = None
    if unit is not None and unit != base:
        known = UNITS.get(unit.casefold())
        if known is None:
            fits = fits and base in ("Hz", "Percent") and unit == ""
        elif known[0] != base:
            fits = False
        elif known[1] is not float:  # float() of a float is that float
            conversion = known[1]
    return name, unit_text, factor, conversion, fits, where, phase_text


Shape = tuple[ShapeReader, tuple[str, ...]]
"""A shape's reader and the texts it skips (meter_shapes.py)."""
_SHAPES: dict[tuple[Any, ...], Shape] = {}
_MAX_SHAPES = 256
"""Distinct shapes kept (meter_shapes.py); a message of any other shape is read by plans."""
_LAST_SHAPES: dict[str, tuple[bool, Shape]] = {}
"""Each charger's last shape and OCPP version (2.x or not), tried first: a charger sends the
same shape message after message (a shape read for one version is not tried on the other:
without units, a 2.x shape takes a 1.6 message whose units are where 2.x has none)."""
_MAX_LAST_SHAPES = 65_536
_MAX_SHAPE_VALUES = 32
"""Sampled values in a shape at most (a charger sends about ten; more are read by plans)."""


def read_meter_value(
    meter_value: Mapping[str, Any],
    *,
    charger_id: ChargerId,
    evse: int,
    transaction_id: str | None,
    now_s: float,
    v2: bool,
) -> MeterSample:
    """Translate one meterValue element (1.6 MeterValue / 2.x MeterValueType).

    What `read_meter_value_reference` does: a message of a shape seen before (meter_shapes.py)
    by the code written for that shape (the charger's last shape is tried first); any other,
    or one that departs from its shape, by `read_planned`.
    """
    sampled = meter_value.get("sampledValue")
    if type(sampled) is list and len(sampled) <= _MAX_SHAPE_VALUES:
        timestamp = meter_value.get("timestamp")
        remembered = _LAST_SHAPES.get(charger_id)
        last = remembered[1] if remembered is not None and remembered[0] == v2 else None
        if last is not None:
            try:
                read = last[0](sampled, timestamp, charger_id, evse, transaction_id, now_s)
            except Exception:  # read_planned meets it again and decides
                read = None
            if read is not None:
                return MeterSample(read[0], read[1], list(last[1]))
        shape = _keyed_shape(sampled, v2)
        if shape is not None and shape is not last:
            try:
                read = shape[0](sampled, timestamp, charger_id, evse, transaction_id, now_s)
            except Exception:
                read = None
            if read is not None:
                if len(_LAST_SHAPES) >= _MAX_LAST_SHAPES:
                    _LAST_SHAPES.clear()
                _LAST_SHAPES[charger_id] = (v2, shape)
                return MeterSample(read[0], read[1], list(shape[1]))
    return read_planned(
        meter_value,
        charger_id=charger_id,
        evse=evse,
        transaction_id=transaction_id,
        now_s=now_s,
        v2=v2,
    )


def _keyed_shape(sampled: list[Any], v2: bool) -> Shape | None:
    """The shape of these sampled values, compiled the first time it is seen (bounded)."""
    key = _shape_key(sampled, v2)
    if key is None:
        return None
    shape = _SHAPES.get(key)
    if shape is None and len(_SHAPES) < _MAX_SHAPES:
        shape = _SHAPES[key] = _shape(key)
    return shape


def _shape_key(sampled: list[Any], v2: bool) -> tuple[Any, ...] | None:
    """(v2, then measurand, unit, multiplier, phase of each sampled value), or None when a
    sampled value is not a dict or has a field of another type than text (plans read it)."""
    key: list[Any] = [v2]
    add = key.append
    for sv in sampled:
        if type(sv) is not dict:
            return None
        measurand = sv.get("measurand", _ENERGY)
        phase = sv.get("phase")
        multiplier = 0
        if v2:
            uom = sv.get("unitOfMeasure")
            if uom is None:
                unit = None
            elif type(uom) is dict:
                unit = uom.get("unit")
                multiplier = uom.get("multiplier", 0)
                if type(multiplier) is not int:
                    return None
            else:
                return None
        else:
            unit = sv.get("unit")
        if (
            type(measurand) is not str
            or (unit is not None and type(unit) is not str)
            or (phase is not None and type(phase) is not str)
        ):
            return None
        add(measurand)
        add(unit)
        add(multiplier)
        add(phase)
    return tuple(key)


def _shape(key: tuple[Any, ...]) -> Shape:
    kinds: list[Kind] = []
    plans = []
    for at in range(1, len(key), 4):
        measurand, unit, multiplier, phase = key[at : at + 4]
        kinds.append((measurand, unit, multiplier, phase))
        plan = _PLANS.get((measurand, unit, multiplier, phase))
        plans.append(plan or _plan(measurand, unit, multiplier, phase))
    return compile_shape(
        kinds,
        plans,
        v2=key[0],
        default_measurand=_ENERGY,
        plausible=_PLAUSIBLE,
        contexts=CONTEXTS,
        parse_timestamp=parse_timestamp,
    )


def read_planned(
    meter_value: Mapping[str, Any],
    *,
    charger_id: ChargerId,
    evse: int,
    transaction_id: str | None,
    now_s: float,
    v2: bool,
) -> MeterSample:
    """What `read_meter_value_reference` does, with the rules for each (measurand, unit,
    multiplier, phase) worked out once (`_plan`); a sampled value of any other shape (not a
    dict, a measurand, unit or phase that is not text) is taken by the reference rules."""
    totals: dict[str, float] = {}
    phases: dict[str, dict[str, float]] = {}
    context: str | None = None
    skipped: list[str] = []
    sampled = meter_value.get("sampledValue")
    plans = _PLANS
    for sv in sampled if type(sampled) is list else _values(sampled):
        if type(sv) is not dict:
            context = _take(sv, v2, totals, phases, skipped, context)
            continue
        measurand = sv.get("measurand", _ENERGY)
        phase = sv.get("phase")
        multiplier = 0
        if v2:
            uom = sv.get("unitOfMeasure")
            if type(uom) is dict:
                unit = uom.get("unit")
                multiplier = uom.get("multiplier", 0)
                if type(multiplier) is not int and not isinstance(multiplier, int):
                    multiplier = 0
            else:
                unit = None
                if uom is not None and isinstance(uom, Mapping):
                    context = _take(sv, v2, totals, phases, skipped, context)
                    continue
        else:
            unit = sv.get("unit")
        if type(unit) is not str:
            unit = None if unit is None or not isinstance(unit, str) else unit
        if (
            type(measurand) is not str
            or (unit is not None and type(unit) is not str)
            or (phase is not None and type(phase) is not str)
        ):
            context = _take(sv, v2, totals, phases, skipped, context)
            continue
        key = (measurand, unit, multiplier, phase)
        plan = plans.get(key)
        if plan is None:
            plan = _plan(measurand, unit, multiplier, phase)
            if len(plans) < _MAX_PLANS:
                plans[key] = plan
        name, unit_text, factor, conversion, fits, where, phase_text = plan
        raw: Any = sv.get("value")  # as _number reads it, its common cases in place
        kind = type(raw)
        if kind is str or kind is float or kind is int:
            try:
                value: float | None = float(raw)
            except ValueError:
                value = _number(raw)
            else:
                if not abs(value) <= _PLAUSIBLE:  # type: ignore[arg-type]
                    value = None
        else:
            value = _number(raw)
        if name is None or value is None or not fits:
            skipped.append(unit_text)
            continue
        if factor is not None:
            value = value * factor
        converted = value if conversion is None else conversion(value)
        if not abs(converted) <= _PLAUSIBLE:
            skipped.append(unit_text)
            continue
        if context is None:
            ctx = sv.get("context")
            if ctx in CONTEXTS:
                context = ctx
        if where is None:
            totals[name] = converted
        elif where:
            values = phases.get(where)
            if values is None:
                values = phases[where] = {}
            values[name] = converted
        else:
            skipped.append(phase_text)
    sampled_at = parse_timestamp(meter_value.get("timestamp"), now_s)
    telemetry = _telemetry(totals, phases, charger_id, evse, transaction_id, sampled_at)
    return MeterSample(telemetry, context, skipped)


def _values(sampled: object) -> Any:
    return sampled if isinstance(sampled, list) else ()


def read_meter_value_reference(
    meter_value: Mapping[str, Any],
    *,
    charger_id: ChargerId,
    evse: int,
    transaction_id: str | None,
    now_s: float,
    v2: bool,
) -> MeterSample:
    """The translation rule by rule, one sampled value at a time (`read_meter_value` gives
    exactly its result)."""
    totals: dict[str, float] = {}
    phases: dict[str, dict[str, float]] = {}
    context: str | None = None
    skipped: list[str] = []
    sampled = meter_value.get("sampledValue")
    for sv in sampled if isinstance(sampled, list) else ():
        context = _take(sv, v2, totals, phases, skipped, context)
    sampled_at = parse_timestamp_reference(meter_value.get("timestamp"), now_s)
    telemetry = _telemetry_reference(totals, phases, charger_id, evse, transaction_id, sampled_at)
    return MeterSample(telemetry, context, skipped)


def _take(
    sv: object,
    v2: bool,
    totals: dict[str, float],
    phases: dict[str, dict[str, float]],
    skipped: list[str],
    context: str | None,
) -> str | None:
    """One sampled value into `totals` / `phases` (or `skipped`); returns the context so far."""
    if type(sv) is not dict and not isinstance(sv, Mapping):
        return context
    measurand = sv.get("measurand", _ENERGY)
    entry = MEASURANDS.get(measurand) if isinstance(measurand, str) else None
    unit, multiplier = (_unit_v2 if v2 else _unit_v16)(sv)
    value = _number(sv.get("value"))
    if entry is None or value is None:
        skipped.append(f"{measurand}/{unit}")
        return context
    name, base = entry
    if multiplier:
        value = value * 10.0**multiplier if abs(multiplier) <= _MAX_MULTIPLIER else math.inf
    converted = convert(value, unit, base)
    if converted is None or not abs(converted) <= _PLAUSIBLE:
        skipped.append(f"{measurand}/{unit}")
        return context
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
    return context


def _telemetry(
    totals: dict[str, float],
    phases: dict[str, dict[str, float]],
    charger_id: ChargerId,
    evse: int,
    transaction_id: str | None,
    sampled_at: datetime | None,
) -> ChargerTelemetry:
    """`_telemetry_reference` with the line values gathered in one pass (same order, so the
    same sums, maxima and means)."""
    per_phase: dict[str, PhaseValues] | None = None
    most_export = None
    if phases:
        per_phase = {}
        for name, values in sorted(phases.items()):
            power = values.get("power_w")
            if "power_export_w" in values:
                power = (power or 0.0) - values["power_export_w"]
            per_phase[name] = PhaseValues(power, *map(values.get, _PHASE_REST))
        lines: dict[str, list[float]] = {}
        for phase, values in phases.items():
            if phase != "N":
                for name, value in values.items():
                    seen = lines.get(name)
                    if seen is None:
                        lines[name] = [value]
                    else:
                        seen.append(value)
        for name in _SUMMED:
            if name not in totals and name in lines:
                totals[name] = sum(lines[name])
        if "current_a" not in totals and "current_a" in lines:
            totals["current_a"] = max(lines["current_a"])
        if "voltage_v" not in totals and "voltage_v" in lines:
            volts = lines["voltage_v"]
            totals["voltage_v"] = sum(volts) / len(volts)
        if "current_export_a" in lines:
            most_export = max(lines["current_export_a"])
    return _record(totals, most_export, per_phase, charger_id, evse, transaction_id, sampled_at)


def _telemetry_reference(
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
        for name in _SUMMED:
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
    most_export = _most(phases, "current_export_a")
    return _record(totals, most_export, per_phase, charger_id, evse, transaction_id, sampled_at)


def _record(
    totals: dict[str, float],
    most_export: float | None,
    per_phase: dict[str, PhaseValues] | None,
    charger_id: ChargerId,
    evse: int,
    transaction_id: str | None,
    sampled_at: datetime | None,
) -> ChargerTelemetry:
    """The record from the totals: export power taken off import (load convention), the
    export current the phases' largest when no total was given."""
    export = totals.pop(_EXPORT, None)
    if export is not None:
        totals["power_w"] = (totals.get("power_w") or 0.0) - export
    if not totals.get("current_export_a"):
        if most_export is None:
            totals.pop("current_export_a", None)
        else:
            totals["current_export_a"] = most_export
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
