"""A whole meterValue of a known shape, translated by code written once for that shape.

A charger sends the same sampled values in the same order, with the same units and phases,
message after message; only the numbers change. For such a shape (the measurand, unit,
multiplier and phase of every sampled value, in order) everything `meter.py` works out per
message is fixed: which record value each number feeds, which are skipped and why, which
phase values are summed, averaged or compared. So it is worked out once, written as one
Python function for the shape (`compile_shape`) and run for each message: it reads and checks
the numbers and builds the record, without the dicts of totals and phases, the per-value
plan look-ups and the pass over the lines that the general reading pays.

The function first checks that the message is of its shape (so a charger's last shape can be
tried first, without working out the shape of every message), and gives up (returns None) on
a message of another shape and on anything that would make a message depart from its shape
-- a value that is no number, out of range, or any error at all; the caller then reads that
message the general way, which decides it (tests/drivers/ocpp/test_meter_fast_path.py
holds both to the rule-by-rule reference).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from gateway.foundation.model import ChargerId, ChargerTelemetry, PhaseValues
from gateway.foundation.model.fields import measured_fields

__all__ = ["Kind", "Plan", "ShapeReader", "compile_shape"]

Plan = tuple[str | None, str, float | None, Callable[[float], float] | None, bool, str | None, str]
"""How a sampled value of one (measurand, unit, multiplier, phase) is taken (meter.py `_plan`):
(record value or None when it is no measurand of ours, text when skipped for its unit,
power-of-ten factor or None, unit conversion or None, whether the unit fits the measurand,
phase as published or None (total) or "" (unknown phase), text when skipped for its phase)."""

Kind = tuple[str, str | None, int, str | None]
"""What a shape fixes of one sampled value: measurand (the default filled in), unit,
unitOfMeasure multiplier (2.x; 0 in 1.6) and phase, as meter.py `_shape_key` reads them."""

ShapeReader = Callable[
    [list[Any], Any, ChargerId, int, str | None, float],
    tuple[ChargerTelemetry, str | None] | None,
]
"""(sampled values, timestamp, charger, evse, transaction, now) -> (record, context) or None
when this message is not of the shape or does not keep to it."""

_EXPORT = "power_export_w"
_PHASE_REST = measured_fields(PhaseValues)[1:]
_SUMMED = ("power_w", "power_export_w", "energy_wh", "energy_export_wh")


def compile_shape(
    kinds: Sequence[Kind],
    plans: Sequence[Plan],
    *,
    v2: bool,
    default_measurand: str,
    plausible: float,
    contexts: frozenset[str],
    parse_timestamp: Callable[[object, float], datetime | None],
) -> tuple[ShapeReader, tuple[str, ...]]:
    """The reader for sampled values of `kinds`, planned as `plans` (one per value, in
    order), and the texts it skips (always the same for a message that keeps to the shape).

    Mirrors meter.py's `read_meter_value` and `_telemetry`/`_record` step by step: the last
    value of a (phase, measurand) wins, phase totals are summed in the phases' order of first
    appearance, the mean voltage is their sum over their count, the export power is taken off
    the import, the export current falls back to the lines' largest.
    """
    namespace: dict[str, Any] = {
        "_CT": ChargerTelemetry,
        "_PV": PhaseValues,
        "_TS": parse_timestamp,
        "_CONTEXTS": contexts,
        "_MAX": plausible,
        "_MIN": -plausible,
    }
    body = _shape_check(kinds, v2, default_measurand, namespace)
    skipped: list[str] = []
    taken: list[int] = []
    totals: dict[str, str] = {}
    phases: dict[str, dict[str, str]] = {}
    for i, (name, unit_text, factor, conversion, fits, where, phase_text) in enumerate(plans):
        if name is None or not fits:
            skipped.append(unit_text)  # whatever its value, unless float() of it raises
            body += [f"    r = s[{i}].get('value')", "    if type(r) is int:", "        float(r)"]
            continue
        taken.append(i)
        v = f"v{i}"
        body += [
            f"    r = s[{i}].get('value')",
            "    t = type(r)",
            "    if t is not str and t is not float and t is not int:",
            "        return None",
            f"    {v} = float(r)",
            f"    if not _MIN <= {v} <= _MAX:",  # (NaN fails both)
            "        return None",
        ]
        if factor is not None:
            namespace[f"_k{i}"] = factor
            body.append(f"    {v} = {v} * _k{i}")
        if conversion is not None:
            namespace[f"_c{i}"] = conversion
            body.append(f"    {v} = _c{i}({v})")
        body += [f"    if not _MIN <= {v} <= _MAX:", "        return None"]
        if where is None:
            totals[name] = v
        elif where:
            phases.setdefault(where, {})[name] = v
        else:
            skipped.append(phase_text)  # its value still had to be a plausible number
    if taken:
        body += [
            f"    for i in ({', '.join(map(str, taken))},):",
            "        c = s[i].get('context')",
            "        if c in _CONTEXTS:",
            "            break",
            "    else:",
            "        c = None",
        ]
    else:
        body.append("    c = None")
    record = _record_arguments(totals, phases)
    body += [
        "    at = _TS(timestamp, now_s)",
        *record.setup,
        f"    return _CT(charger_id, evse, {record.arguments}"
        "transaction_id=transaction_id, sampled_at=at), c",
    ]
    source = (
        "def read(s, timestamp, charger_id, evse, transaction_id, now_s):\n"
        + "\n".join(body)
        + "\n"
    )
    exec(compile(source, "<meter shape>", "exec"), namespace)
    reader: ShapeReader = namespace["read"]
    return reader, tuple(skipped)


def _shape_check(
    kinds: Sequence[Kind], v2: bool, default_measurand: str, namespace: dict[str, Any]
) -> list[str]:
    """Statements that return None unless `s` is a list of dicts of exactly these kinds:
    what `_shape_key` would say, compared field by field instead of built and hashed."""
    namespace["_E"] = default_measurand
    lines = [f"    if len(s) != {len(kinds)}:", "        return None"]
    for i, (measurand, unit, multiplier, phase) in enumerate(kinds):
        namespace[f"_m{i}"] = measurand
        tests = ["type(e) is not dict", f"e.get('measurand', _E) != _m{i}"]
        tests.append("e.get('phase') is not None" if phase is None else f"e.get('phase') != _p{i}")
        if phase is not None:
            namespace[f"_p{i}"] = phase
        if unit is not None:
            namespace[f"_u{i}"] = unit
        if not v2:
            tests.append("e.get('unit') is not None" if unit is None else f"e.get('unit') != _u{i}")
        lines += [f"    e = s[{i}]", f"    if {' or '.join(tests)}:", "        return None"]
        if v2:
            unit_test = "u.get('unit') is not None" if unit is None else f"u.get('unit') != _u{i}"
            lines += [
                "    u = e.get('unitOfMeasure')",
                "    if u is None:",
                "        pass" if unit is None and multiplier == 0 else "        return None",
                f"    elif type(u) is not dict or {unit_test}:",
                "        return None",
                "    else:",
                "        m = u.get('multiplier', 0)",
                f"        if type(m) is not int or m != {multiplier}:",
                "            return None",
            ]
    return lines


class _Arguments:
    def __init__(self, setup: list[str], arguments: str) -> None:
        self.setup = setup
        self.arguments = arguments


def _record_arguments(totals: dict[str, str], phases: dict[str, dict[str, str]]) -> _Arguments:
    """The keyword arguments of the record, as meter.py `_telemetry` and `_record` make them."""
    totals = dict(totals)
    setup: list[str] = []
    per_phase = "None"
    most_export: str | None = None
    if phases:
        entries = []
        for where, values in sorted(phases.items()):
            power = values.get("power_w", "None")
            if _EXPORT in values:
                power = f"(({power}) or 0.0) - {values[_EXPORT]}"
            rest = ", ".join(values.get(n, "None") for n in _PHASE_REST)
            entries.append(f"{where!r}: _PV({power}, {rest})")
        per_phase = "{" + ", ".join(entries) + "}"
        lines: dict[str, list[str]] = {}
        for where, values in phases.items():
            if where != "N":
                for name, v in values.items():
                    lines.setdefault(name, []).append(v)
        for name in _SUMMED:
            if name not in totals and name in lines:
                totals[name] = f"sum(({', '.join(lines[name])},))"
        if "current_a" not in totals and "current_a" in lines:
            totals["current_a"] = f"max(({', '.join(lines['current_a'])},))"
        if "voltage_v" not in totals and "voltage_v" in lines:
            volts = lines["voltage_v"]
            totals["voltage_v"] = f"sum(({', '.join(volts)},)) / {len(volts)}"
        if "current_export_a" in lines:
            most_export = f"max(({', '.join(lines['current_export_a'])},))"
    export = totals.pop(_EXPORT, None)
    if export is not None:
        totals["power_w"] = f"(({totals.get('power_w', 'None')}) or 0.0) - {export}"
    current_export = totals.pop("current_export_a", None)
    if current_export is not None or most_export is not None:
        setup += [
            f"    ce = {current_export or 'None'}",
            "    if not ce:",
            f"        ce = {most_export or 'None'}",
        ]
        totals["current_export_a"] = "ce"
    arguments = "".join(f"{name}={v}, " for name, v in totals.items())
    return _Arguments(setup, f"phases={per_phase}, {arguments}")
