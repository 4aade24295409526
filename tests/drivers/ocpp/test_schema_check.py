"""The leaned compiled checks and the yes/no verdicts accept and refuse exactly what
fastjsonschema's own checks do."""

from __future__ import annotations

import functools
from typing import Any

import fastjsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ocpp.schema_check import Check, Verdict, compile_check, compile_verdict, lean
from drivers.ocpp.validation import _DRAFT4, request_validator
from gateway.foundation.model.versions import OcppVersion
from tests.drivers.ocpp.frame_strategies import VERSIONS, _json, actions, valid_looking
from tests.drivers.ocpp.meter_strategies import charging_payload, one_quirk

_VERSION = {"1.6": OcppVersion.V16, "2.0.1": OcppVersion.V201, "2.1": OcppVersion.V21}
CASES = [(v, a) for v in VERSIONS for a in actions(v) if request_validator(_VERSION[v], a)]


@functools.cache
def checks(version: str, action: str) -> tuple[Check, Check]:
    validator = request_validator(_VERSION[version], action)
    assert validator is not None
    schema = {**validator.schema, "$schema": _DRAFT4}
    reference = fastjsonschema.compile(
        schema, use_default=False, use_formats=False, detailed_exceptions=False
    )
    return reference, compile_check(schema)


def accepts(check: Check, payload: Any) -> bool:
    try:
        check(payload)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


@st.composite
def damaged(draw: st.DrawFn, payload: Any) -> Any:
    """The payload with one value somewhere replaced by arbitrary JSON."""
    if not isinstance(payload, dict | list) or not payload or draw(st.booleans()):
        return payload
    copy: Any = dict(payload) if isinstance(payload, dict) else list(payload)
    key = draw(st.sampled_from(list(copy) if isinstance(copy, dict) else range(len(copy))))
    if draw(st.booleans()):
        copy[key] = draw(_json(2) | st.sampled_from(["SoC", "L1", "Wh", "", "soc", 1, None]))
    else:
        copy[key] = draw(damaged(copy[key]))
    return copy


@pytest.mark.parametrize(("version", "action"), CASES)
@given(data=st.data())
def test_same_verdict_as_fastjsonschema(version: str, action: str, data: st.DataObject) -> None:
    payload = data.draw(valid_looking(version, action).flatmap(damaged))
    reference, leaned = checks(version, action)
    assert accepts(leaned, payload) == accepts(reference, payload)


def test_the_rewrites_apply_to_the_charging_path() -> None:
    validator = request_validator(OcppVersion.V201, "TransactionEvent")
    assert validator is not None
    code = fastjsonschema.compile_to_code(
        {**validator.schema, "$schema": _DRAFT4}, use_default=False, use_formats=False,
        detailed_exceptions=False,
    )  # fmt: skip
    leaned = lean(code)
    assert "format(**locals())" in code and "format(**locals())" not in leaned
    assert "data in ('" in leaned and ", str) and data == '" not in leaned
    # the measurand of every sampled value is tested in place, not by a call
    assert "validate___definitions_measurandenumtype(data__measurand" not in leaned
    assert "isinstance(data__measurand, str) and data__measurand in ('Current.Export'" in leaned


@functools.cache
def verdict(version: str, action: str) -> Verdict:
    validator = request_validator(_VERSION[version], action)
    assert validator is not None
    translated = compile_verdict(validator.schema)
    assert translated is not None, "every handled action's schema is translated"
    return translated


@st.composite
def broken(draw: st.DrawFn, payload: Any) -> Any:
    """The payload with at most one change somewhere: a value replaced by any JSON, a key
    added or removed, an item added or every item removed."""
    if not isinstance(payload, dict | list) or not payload or draw(st.integers(0, 2)) == 0:
        change = draw(st.integers(0, 3))
        if change == 0:
            return draw(_json(2) | st.sampled_from(["SoC", "L1", "Wh", "", 1, 1.0, True, None]))
        if change == 1 and isinstance(payload, dict):
            key = draw(st.sampled_from([*payload, "customData", "extra", "value", "unit"]))
            copy = dict(payload)
            if key in copy and draw(st.booleans()):
                del copy[key]
            else:
                copy[key] = draw(_json(1))
            return copy
        if change == 2 and isinstance(payload, list):
            return [*payload, draw(_json(1) | st.just(payload[0] if payload else {}))]
        if change == 3 and isinstance(payload, list):
            return []
        return payload
    copy: Any = dict(payload) if isinstance(payload, dict) else list(payload)
    key = draw(st.sampled_from(list(copy) if isinstance(copy, dict) else range(len(copy))))
    copy[key] = draw(broken(copy[key]))
    return copy


@pytest.mark.parametrize(("version", "action"), CASES)
@given(data=st.data())
def test_verdict_same_as_fastjsonschema(version: str, action: str, data: st.DataObject) -> None:
    payload = data.draw(valid_looking(version, action).flatmap(broken))
    reference, _ = checks(version, action)
    assert verdict(version, action)(payload) == accepts(reference, payload)


METER_ACTIONS = [("1.6", "MeterValues"), ("2.0.1", "MeterValues"), ("2.0.1", "TransactionEvent"),
                 ("2.1", "MeterValues"), ("2.1", "TransactionEvent")]  # fmt: skip


@settings(max_examples=1000)
@given(data=st.data(), case=st.sampled_from(METER_ACTIONS))
def test_verdict_on_meter_values_as_chargers_send_them(
    data: st.DataObject, case: tuple[str, str]
) -> None:
    """The charging path's payloads: valid ones with at most one change, or with a quirk
    chargers send in one field of a sampled value."""
    version, action = case
    reference, _ = checks(version, action)
    payload = data.draw(charging_payload(version, action))
    assert accepts(reference, payload)
    if data.draw(st.booleans()):
        element = data.draw(st.sampled_from(payload["meterValue"]))
        values = element["sampledValue"]
        at = data.draw(st.integers(0, len(values) - 1))
        values[at] = data.draw(one_quirk(values[at], version != "1.6"))
    else:
        payload = data.draw(broken(payload))
    assert verdict(version, action)(payload) == accepts(reference, payload)


def test_verdict_is_none_where_a_keyword_is_not_translated() -> None:
    limit = {"type": "number", "multipleOf": 0.1}
    assert compile_verdict({"type": "object", "properties": {"limit": limit}}) is None
    assert compile_verdict({"type": "string", "pattern": "^a"}) is None
    # a keyword about another type's values is no constraint: strings pass it
    enum = compile_verdict({"type": "string", "enum": ["A"], "additionalProperties": False})
    assert enum is not None and enum("A") and not enum("B") and not enum(["A"])
