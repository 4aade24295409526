"""The leaned compiled checks accept and refuse exactly what fastjsonschema's own do."""

from __future__ import annotations

import functools
from typing import Any

import fastjsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.ocpp.schema_check import Check, compile_check, lean
from drivers.ocpp.validation import _DRAFT4, request_validator
from gateway.foundation.model.versions import OcppVersion
from tests.drivers.ocpp.frame_strategies import VERSIONS, _json, actions, valid_looking

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
