"""Hypothesis strategies for meterValue elements as chargers send them, quirks included:
numbers as text (decimal commas, spaces, NaN-like words, huge values), units in any case,
multipliers, unknown or misspelt measurands, phases and contexts, bad timestamps, and values
of the wrong JSON type anywhere."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from drivers.ocpp.core.measurands import CONTEXTS, MEASURANDS, PHASES

__all__ = ["charging_payload", "meter_value", "one_quirk", "sampled_value"]

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
JUNK = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=3,
)
"""Any JSON value (what a schema check tolerates inside a sampled value, or not)."""


def _mostly(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], odds: int = 4) -> Any:
    """`common` `odds` times out of `odds + 1`: most values should get far into the rules."""
    return st.integers(0, odds).flatmap(lambda n: rare if n == 0 else common)


_PLAIN = st.one_of(st.integers(-5000, 50_000), st.floats(-1e6, 1e6))
_NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    st.decimals(-100_000, 100_000, places=3).map(lambda d: str(d).replace(".", ",")),
    st.floats(-1e6, 1e6).map(lambda f: f"  {f} "),
    st.sampled_from(
        ["NaN", "nan", "-inf", "Infinity", "1e999", "1e16", "-1e15", "1_000", "", " ", "abc",
         "1,234.5", "12,5", "0x10", "9" * 30, "1e-400", "+3", "٣"]
    ),
)  # fmt: skip
_QUIRKY_VALUES = st.one_of(
    _NUMBER_TEXT,
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e15, -1e15, 1e15 + 1, 1e300, 5e-324, -0.0, True, False, None]),
    JUNK,
)
_MEASURANDS = _mostly(
    st.sampled_from(sorted(MEASURANDS)),
    st.sampled_from(["Energy.Reactive.Import.Register", "RPM", "soc", "", "Power.Factor"]) | JUNK,
)
_UNIT_NAMES = st.sampled_from(
    ["Wh", "kWh", "kwh", "KWH", "W", "kW", "KW", "A", "V", "Percent", "percent", "%", "Celsius",
     "Celcius", "Fahrenheit", "K", "Hz", "Hertz", "varh", "VA", "", " Wh", "wH"]
)  # fmt: skip
_PHASES = _mostly(st.sampled_from(sorted(PHASES)), st.sampled_from(["L1-L2", "l1", ""]) | JUNK)
_CONTEXTS = _mostly(
    st.sampled_from(sorted(CONTEXTS)), st.sampled_from(["sample.periodic", None]) | _SCALARS
)
_MULTIPLIERS = _mostly(
    st.integers(-3, 3),
    st.integers(-30, 30) | st.sampled_from([True, 2.0, "3", None, 10**30]),
    odds=2,
)
_TIMESTAMPS = st.one_of(
    st.sampled_from(
        ["2026-03-01T08:00:00Z", "2026-03-01T08:00:00.123+02:00", "2026-03-01T08:00:00",
         "2026-03-01 08:00:00Z", " 2026-03-01T08:00:00Z ", "1970-01-01T00:00:00Z",
         "2000-01-01T00:00:00Z", "2099-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00",
         "not a time", "", "2026-02-30T00:00:00Z"]
    ),
    JUNK,
)  # fmt: skip


@st.composite
def sampled_value(draw: st.DrawFn, v2: bool) -> Any:
    """One sampledValue, mostly well formed, sometimes not a dict at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(JUNK)
    sv: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        plain = _PLAIN if v2 else _PLAIN.map(str)
        sv["value"] = draw(_mostly(plain, _QUIRKY_VALUES, odds=2))
    if draw(st.booleans()):
        sv["measurand"] = draw(_MEASURANDS)
    if draw(st.booleans()):
        sv["phase"] = draw(_PHASES)
    if draw(st.booleans()):
        sv["context"] = draw(_CONTEXTS)
    if draw(st.integers(0, 3)) == 0:
        sv["location"] = draw(st.sampled_from(["Outlet", "EV", "Inlet"]))
    if v2:
        if draw(st.booleans()):
            uom: Any = {}
            if draw(st.booleans()):
                uom["unit"] = draw(_mostly(_UNIT_NAMES, JUNK))
            if draw(st.booleans()):
                uom["multiplier"] = draw(_MULTIPLIERS)
            sv["unitOfMeasure"] = uom if draw(st.integers(0, 9)) else draw(JUNK)
    elif draw(st.booleans()):
        sv["unit"] = draw(_mostly(_UNIT_NAMES, JUNK))
    return sv


@st.composite
def _per_phase(draw: st.DrawFn, v2: bool) -> list[Any]:
    """What a three-phase meter reports: some measurands per phase, some as totals."""
    values: list[Any] = []
    for measurand in draw(st.lists(st.sampled_from(sorted(MEASURANDS)), max_size=4)):
        phases = draw(st.lists(st.sampled_from(["L1", "L2", "L3", "N", "L1-N", None]), max_size=4))
        for phase in phases:
            sv: dict[str, Any] = {"measurand": measurand, "value": draw(_PLAIN)}
            if not v2:
                sv["value"] = str(sv["value"])
            if phase is not None:
                sv["phase"] = phase
            values.append(sv)
    if values and draw(st.booleans()):  # one value with a quirk
        at = draw(st.integers(0, len(values) - 1))
        values[at] = draw(one_quirk(values[at], v2))
    return draw(st.permutations(values))


@st.composite
def meter_value(draw: st.DrawFn, v2: bool) -> dict[str, Any]:
    """One meterValue element: a timestamp (or not) and its sampled values (or not a list)."""
    element: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        element["timestamp"] = draw(_TIMESTAMPS)
    kind = draw(st.integers(0, 19))
    if kind == 0:
        element["sampledValue"] = draw(JUNK)
    elif kind < 10:
        element["sampledValue"] = draw(_per_phase(v2))
    else:
        element["sampledValue"] = draw(st.lists(sampled_value(v2), max_size=12))
    return element


@st.composite
def one_quirk(draw: st.DrawFn, sv: dict[str, Any], v2: bool) -> dict[str, Any]:
    """`sv` with one field set to a value chargers send (the rest as it was)."""
    field = draw(st.sampled_from(["value", "value", "measurand", "phase", "context", "unit"]))
    quirk = dict(sv)
    if field == "value":
        quirk["value"] = draw(
            st.sampled_from([True, False, "12", "12,5", 12, 12.5, None]) | _QUIRKY_VALUES
        )
    elif field == "measurand":
        quirk["measurand"] = draw(_MEASURANDS)
    elif field == "phase":
        quirk["phase"] = draw(_PHASES)
    elif field == "context":
        quirk["context"] = draw(_CONTEXTS)
    elif v2:
        uom = dict(quirk.get("unitOfMeasure") or {})
        uom["unit" if draw(st.booleans()) else "multiplier"] = draw(
            _mostly(_UNIT_NAMES, JUNK) | _MULTIPLIERS
        )
        quirk["unitOfMeasure"] = uom
    else:
        quirk["unit"] = draw(_mostly(_UNIT_NAMES, JUNK))
    return quirk


_V16_UNITS = ["Wh", "kWh", "W", "kW", "A", "V", "Percent", "Celsius", "Celcius", "Hertz", "K"]
_BOTH_MEASURANDS = sorted(set(MEASURANDS) - {"Temperature"})  # 2.x has no Temperature


@st.composite
def _valid_sampled_value(draw: st.DrawFn, v2: bool) -> dict[str, Any]:
    sv: dict[str, Any] = {"value": draw(_PLAIN if v2 else _PLAIN.map(str))}
    optional = {
        "measurand": st.sampled_from(_BOTH_MEASURANDS),
        "phase": st.sampled_from(sorted(PHASES)),
        "context": st.sampled_from(sorted(CONTEXTS)),
        "location": st.sampled_from(["Outlet", "EV", "Inlet"]),
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            sv[key] = draw(values)
    if v2 and draw(st.booleans()):
        unit = draw(_UNIT_NAMES)
        sv["unitOfMeasure"] = {"unit": unit, "multiplier": draw(st.integers(-3, 3))}
    elif not v2 and draw(st.booleans()):
        sv["unit"] = draw(st.sampled_from(_V16_UNITS))
    return sv


@st.composite
def charging_payload(draw: st.DrawFn, version: str, action: str) -> dict[str, Any]:
    """A schema-valid MeterValues or TransactionEvent(Updated) payload with meter values."""
    v2 = version != "1.6"
    element = st.fixed_dictionaries(
        {
            "timestamp": st.just("2026-03-01T08:00:00Z"),
            "sampledValue": st.lists(_valid_sampled_value(v2), min_size=1, max_size=9),
        }
    )
    meter_values = draw(st.lists(element, min_size=1, max_size=2))
    if not v2:
        return {"connectorId": 1, "transactionId": 7, "meterValue": meter_values}
    if action == "MeterValues":
        return {"evseId": 1, "meterValue": meter_values}
    return {
        "eventType": "Updated",
        "timestamp": "2026-03-01T08:00:00Z",
        "triggerReason": "MeterValuePeriodic",
        "seqNo": 3,
        "transactionInfo": {"transactionId": "TX-1"},
        "meterValue": meter_values,
    }
