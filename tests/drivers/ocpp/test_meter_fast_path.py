"""The planned meter translation gives exactly what the rule-by-rule reference gives, and
timestamps read once what reading them each time gives."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ocpp.core import meter, timestamps
from drivers.ocpp.core.meter import read_meter_value, read_meter_value_reference
from drivers.ocpp.core.timestamps import parse_timestamp, parse_timestamp_reference
from gateway.foundation.model import ChargerId
from tests.drivers.ocpp.meter_strategies import meter_value

NOW = 1_772_352_000.0  # 2026-03-01T08:00:00Z


def outcome(read: Any, element: Any, v2: bool) -> tuple[str, Any]:
    """The sample, or the kind of error: the reference's errors are the fast path's too."""
    try:
        sample = read(
            element, charger_id=ChargerId("CP-1"), evse=2, transaction_id="T-9", now_s=NOW, v2=v2
        )
    except Exception as exc:  # compared, not hidden: both must fail alike
        return "raised", type(exc)
    return "sample", sample


QUIRKS = [
    (
        False,
        {
            "timestamp": "2026-03-01T08:00:00Z",
            "sampledValue": [
                {"value": "12,5", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
                {"value": " 230.1 ", "measurand": "Voltage", "phase": "L1-N"},
                {"value": "NaN", "measurand": "Current.Import", "phase": "L2"},
                {"value": "7", "measurand": "Power.Active.Import", "unit": "Wh"},
                {"value": "1", "measurand": "Current.Import", "phase": "L1-L2"},
                {"value": "55", "measurand": "SoC", "unit": ""},
            ],
        },
    ),
    (
        True,
        {
            "sampledValue": [
                {"value": 11.04, "measurand": "Power.Active.Import",
                 "unitOfMeasure": {"unit": "kW", "multiplier": 3}},
                {"value": 2, "measurand": "Power.Active.Export", "phase": "L1",
                 "unitOfMeasure": {"unit": "W", "multiplier": 30}},
                {"value": 1, "measurand": "SoC", "unitOfMeasure": {"multiplier": True}},
                {"value": 50, "measurand": "Frequency", "unitOfMeasure": {"unit": ""}},
                {"value": 70, "measurand": "Temperature", "unitOfMeasure": {"unit": "fahrenheit"}},
                {"value": 1, "measurand": ["x"], "context": "Trigger"},
            ],
        },
    ),
]  # fmt: skip
ELEMENTS = st.booleans().flatmap(lambda v2: st.tuples(st.just(v2), meter_value(v2)))


def assert_same(v2: bool, element: Any) -> None:
    meter._SHAPES.clear()  # each element's shape is compiled for it (the table stays small)
    fast = outcome(read_meter_value, element, v2)
    reference = outcome(read_meter_value_reference, element, v2)
    assert fast == reference
    if fast[0] == "sample":  # equal records, and the same values in the same places
        assert repr(fast[1]) == repr(reference[1])


@settings(max_examples=400)
@given(case=ELEMENTS)
def test_same_sample_as_the_reference(case: tuple[bool, Any]) -> None:
    assert_same(*case)


@pytest.mark.parametrize(("v2", "element"), QUIRKS)
def test_same_sample_for_known_quirks(v2: bool, element: Any) -> None:
    sample = outcome(read_meter_value, element, v2)[1]
    assert sample.skipped  # some of each are skipped, the rest taken
    assert sample.telemetry.power_w is not None or sample.telemetry.energy_wh is not None
    assert_same(v2, element)


def shape_outcome(element: Any, v2: bool) -> tuple[Any, ...] | None:
    """What the code written for the element's shape makes of it (None: not its path)."""
    sampled = element.get("sampledValue") if isinstance(element, dict) else None
    if type(sampled) is not list:
        return None
    key = meter._shape_key(sampled, v2)
    if key is None:
        return None
    reader, skipped = meter._shape(key)
    try:
        read = reader(sampled, element.get("timestamp"), ChargerId("CP-1"), 2, "T-9", NOW)
    except Exception:
        return None
    return None if read is None else (*read, list(skipped))


@settings(max_examples=400)
@given(case=ELEMENTS)
def test_each_shape_reads_what_the_reference_reads(case: tuple[bool, Any]) -> None:
    """Held to the reference on its own: the plans cannot hide a wrong shape reading."""
    v2, element = case
    shaped = shape_outcome(element, v2)
    if shaped is not None:
        reference = read_meter_value_reference(
            element, charger_id=ChargerId("CP-1"), evse=2, transaction_id="T-9", now_s=NOW, v2=v2
        )
        assert repr(shaped) == repr((reference.telemetry, reference.context, reference.skipped))


@settings(max_examples=300)
@given(first=ELEMENTS, second=ELEMENTS)
def test_a_shape_reads_only_messages_of_its_shape(
    first: tuple[bool, Any], second: tuple[bool, Any]
) -> None:
    """Tried first for a charger, a shape's code must see that a message is of another shape
    (its own check, not the key) and leave it to the key."""
    v2, element = first
    sampled = element.get("sampledValue") if isinstance(element, dict) else None
    key = meter._shape_key(sampled, v2) if type(sampled) is list else None
    other_v2, other = second
    other_sampled = other.get("sampledValue") if isinstance(other, dict) else None
    if key is None or type(other_sampled) is not list:
        return
    reader, _ = meter._shape(key)
    try:
        read = reader(other_sampled, other.get("timestamp"), ChargerId("CP-1"), 2, "T-9", NOW)
    except Exception:
        read = None
    if read is not None:  # the same kinds of values (a 1.6 shape without units takes a 2.x
        # message without units alike: the reading does not depend on the version then)
        other_key = meter._shape_key(other_sampled, other_v2)
        assert other_key is not None and other_key[1:] == key[1:]


@settings(max_examples=200)
@given(elements=st.lists(ELEMENTS, min_size=2, max_size=6))
def test_a_charger_that_changes_shape_is_read_as_the_reference_reads(
    elements: list[tuple[bool, Any]],
) -> None:
    """One charger, one message after another of different shapes and versions: the last
    shape tried first never decides what a message of another shape says."""
    meter._LAST_SHAPES.clear()
    for v2, element in elements:
        fast = outcome(read_meter_value, element, v2)
        reference = outcome(read_meter_value_reference, element, v2)
        assert repr(fast) == repr(reference)


def test_a_charger_back_on_another_version_is_read_for_that_version() -> None:
    """A 2.x shape without units would take a 1.6 message whose units sit in `unit`."""
    meter._LAST_SHAPES.clear()
    v2_element = {"sampledValue": [{"value": 12.5, "measurand": "Energy.Active.Import.Register"}]}
    v16_element = {"sampledValue": [{"value": "12.5", "measurand": "Energy.Active.Import.Register",
                                     "unit": "kWh"}]}  # fmt: skip
    for v2, element in ((True, v2_element), (False, v16_element)):
        assert repr(outcome(read_meter_value, element, v2)) == repr(
            outcome(read_meter_value_reference, element, v2)
        )


def test_the_last_shapes_are_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(meter, "_LAST_SHAPES", {})
    monkeypatch.setattr(meter, "_MAX_LAST_SHAPES", 3)
    element = _typical(False)[0]
    for n in range(10):
        read_meter_value(
            element, charger_id=ChargerId(f"CP-{n}"), evse=1, transaction_id=None, now_s=NOW,
            v2=False,
        )  # fmt: skip
        assert len(meter._LAST_SHAPES) <= 3
    assert ChargerId("CP-9") in meter._LAST_SHAPES


def _sv(value: Any, measurand: str, v2: bool, unit: str | None = None, **more: Any) -> Any:
    sv = {"value": value if v2 else str(value), "measurand": measurand, **more}
    if unit is not None:
        sv.update({"unitOfMeasure": {"unit": unit}} if v2 else {"unit": unit})
    return sv


def _typical(v2: bool) -> list[dict[str, Any]]:
    """Shapes chargers send: three phases, V2G export, neutral, kW, a repeat, a stray phase."""
    three = [_sv(16.0, "Current.Import", v2, phase=p) for p in ("L1", "L2", "L3")] + [
        _sv(230.1, "Voltage", v2, phase=p) for p in ("L1-N", "L2-N", "L3-N")
    ]
    return [
        {"timestamp": "2026-03-01T07:59:00Z", "sampledValue": [
            _sv(15000, "Energy.Active.Import.Register", v2, "Wh", context="Sample.Periodic"),
            _sv(11040, "Power.Active.Import", v2), _sv(55, "SoC", v2, location="EV"), *three]},
        {"sampledValue": [_sv(7.5, "Power.Active.Export", v2, "kW", phase=p) for p in ("L1", "L2")]
            + [_sv(2.0, "Power.Active.Import", v2, "kW", phase="L1"),
               _sv(12, "Current.Export", v2, phase="L1"), _sv(0, "Current.Export", v2),
               _sv(3, "Current.Import", v2, phase="N"), _sv(900, "Energy.Active.Export.Register", v2)]},
        {"sampledValue": [_sv(1, "Power.Active.Import", v2), _sv(2, "Power.Active.Import", v2),
                          _sv(3, "Voltage", v2, phase="L9"), _sv(4, "RPM", v2),
                          _sv(5, "Voltage", v2, "kV", context="Trigger")]},
        {"sampledValue": []},
    ]  # fmt: skip


@pytest.mark.parametrize("v2", [False, True])
def test_typical_shapes_are_read_by_their_code(v2: bool) -> None:
    for element in _typical(v2):
        shaped = shape_outcome(element, v2)
        assert shaped is not None, element  # the shape's own code read it, without the plans
        sample = read_meter_value_reference(
            element, charger_id=ChargerId("CP-1"), evse=2, transaction_id="T-9", now_s=NOW, v2=v2
        )
        assert repr(shaped) == repr((sample.telemetry, sample.context, sample.skipped))


def test_a_message_that_departs_from_its_shape_is_read_by_the_plans() -> None:
    """Same shape, then a value that is no number: the reading is still the reference's."""
    element = _typical(False)[0]
    assert_same(False, element)
    broken = {**element, "sampledValue": [{**element["sampledValue"][1], "value": "1,5"},
                                          *element["sampledValue"][2:]]}  # fmt: skip
    assert shape_outcome(broken, False) is None  # a decimal comma: not for the shape's code
    assert read_meter_value(
        broken, charger_id=ChargerId("CP-1"), evse=2, transaction_id="T-9", now_s=NOW, v2=False
    ).telemetry.power_w == 1.5


def test_shapes_are_bounded(monkeypatch: Any) -> None:
    """A charger inventing shapes cannot grow the table (nor compile code) without end."""
    monkeypatch.setattr(meter, "_SHAPES", {})
    monkeypatch.setattr(meter, "_MAX_SHAPES", 5)
    for n in range(20):
        values = [{"value": "1", "measurand": "Voltage", "phase": "L1-N"}] * (n + 1)
        sample = read_meter_value(
            {"sampledValue": values}, charger_id=ChargerId("CP-1"), evse=1, transaction_id=None,
            now_s=NOW, v2=False,
        )  # fmt: skip
        assert sample.telemetry.voltage_v == 1.0
    assert len(meter._SHAPES) == 5
    long = [{"value": "1", "measurand": "Voltage"}] * (meter._MAX_SHAPE_VALUES + 1)
    monkeypatch.setattr(meter, "_SHAPES", {})
    read_meter_value(
        {"sampledValue": long}, charger_id=ChargerId("CP-1"), evse=1, transaction_id=None,
        now_s=NOW, v2=False,
    )  # fmt: skip
    assert meter._SHAPES == {}  # longer than a shape is kept for


def test_plans_are_bounded(monkeypatch: Any) -> None:
    """A charger inventing units cannot grow the plan table without end."""
    monkeypatch.setattr(meter, "_PLANS", {})
    monkeypatch.setattr(meter, "_MAX_PLANS", 10)
    values = [{"value": "1", "measurand": "Voltage", "unit": f"V{n}"} for n in range(50)]
    sample = read_meter_value(
        {"sampledValue": values}, charger_id=ChargerId("CP-1"), evse=1, transaction_id=None,
        now_s=NOW, v2=False,
    )  # fmt: skip
    assert len(meter._PLANS) == 10
    assert sample.skipped == [f"Voltage/V{n}" for n in range(50)]


TIMESTAMP_TEXTS = st.one_of(
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat(sep=" ") + "Z"),
    st.sampled_from(["2026-03-01T08:00:00Z", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                     "not a time", "", " 2026-03-01T08:00:00Z ", "2026-02-30T00:00:00Z"]),
    st.text(max_size=30),
)  # fmt: skip


@settings(max_examples=300)
@given(texts=st.lists(TIMESTAMP_TEXTS, min_size=1, max_size=4), nows=st.lists(
    st.floats(1.4e9, 4.2e9) | st.sampled_from([NOW, 0.0, 1e12]), min_size=1, max_size=3))  # fmt: skip
def test_timestamps_read_once_give_what_reading_each_time_gives(
    texts: list[str], nows: list[float]
) -> None:
    for now_s in nows:  # the same text again, against another clock
        for text in texts:
            assert read_time(parse_timestamp, text, now_s) == read_time(
                parse_timestamp_reference, text, now_s
            )


def read_time(parse: Any, text: str, now_s: float) -> Any:
    """The time, or the kind of error (a clock in year 33658 lets 9999-12-31T23:59:59-14:00
    in, which is beyond the calendar in UTC)."""
    try:
        return parse(text, now_s)
    except OverflowError as exc:
        return type(exc)


def test_timestamps_read_are_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(timestamps, "_READ", {})
    for second in range(600):
        parse_timestamp(f"2026-03-01T08:{second // 60:02d}:{second % 60:02d}Z", NOW)
    assert 0 < len(timestamps._READ) <= timestamps._MAX_READ
