"""The compiled (fastjsonschema) check agrees with `jsonschema` on real payloads, their
mutations and arbitrary JSON put anywhere in them; schemas are loaded at start."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.ocpp import validation
from drivers.ocpp.session_v2 import Session2
from drivers.ocpp.session_v16 import Session16
from drivers.ocpp.validation import _fast_check, preload, request_validator, violation

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ocpp"
EVENTS = json.loads((FIXTURES / "transaction_events_v2.json").read_text())
QUIRKS = json.loads((FIXTURES / "quirks_v16.json").read_text())

CORPUS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "1.6",
        "BootNotification",
        {"chargePointVendor": "Acme", "chargePointModel": "M", "firmwareVersion": "1"},
    ),
    (
        "1.6",
        "StartTransaction",
        {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "2026-01-01T00:00:00Z"},
    ),
    (
        "1.6",
        "StopTransaction",
        {
            "transactionId": 1,
            "meterStop": 5,
            "timestamp": "2026-01-01T00:00:00Z",
            "reason": "Local",
            "transactionData": [{"timestamp": "x", "sampledValue": [{"value": "1", "unit": "Wh"}]}],
        },
    ),
    ("1.6", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}),
    *[("1.6", "MeterValues", p) for p in QUIRKS.values()],
    (
        "2.0.1",
        "BootNotification",
        {"reason": "PowerUp", "chargingStation": {"vendorName": "A", "model": "M"}},
    ),
    *[(v, "TransactionEvent", p) for p in EVENTS.values() for v in ("2.0.1", "2.1")],
    (
        "2.1",
        "StatusNotification",
        {"timestamp": "t", "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1},
    ),
    ("2.1", "Authorize", {"idToken": {"idToken": "x", "type": "ISO14443"}}),
]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield (*prefix, key)
            yield from paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield (*prefix, i)
            yield from paths(sub, (*prefix, i))


def mutations(payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield payload
    yield {**payload, "unexpected": 1}
    for path in paths(payload):
        for replacement in (
            None,
            12,
            1.5,
            -7,
            1.0,
            True,
            "x",
            "x" * 600,
            [],
            {},
            "Charging",
            "__delete__",
        ):
            mutated = copy.deepcopy(payload)
            parent = mutated
            for step in path[:-1]:
                parent = parent[step]
            if replacement == "__delete__":
                del parent[path[-1]]
            else:
                parent[path[-1]] = replacement
            yield mutated


def fast_verdict(version: str, action: str, payload: Any) -> bool:
    validator = request_validator(version, action)
    assert validator is not None
    try:
        _fast_check(validator)(payload)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


@pytest.mark.parametrize(("version", "action", "payload"), CORPUS)
def test_compiled_check_agrees_with_jsonschema(
    version: str, action: str, payload: dict[str, Any]
) -> None:
    validator = request_validator(version, action)
    assert validator is not None
    checked = 0
    for candidate in mutations(payload):
        assert fast_verdict(version, action, candidate) == validator.is_valid(candidate), candidate
        checked += 1
    assert checked > 10


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(case=st.sampled_from(CORPUS), data=st.data(), value=JSON)
def test_any_json_anywhere_gets_the_same_verdict(
    case: tuple[str, str, dict[str, Any]], data: st.DataObject, value: Any
) -> None:
    version, action, payload = case
    mutated = copy.deepcopy(payload)
    targets = list(paths(mutated))
    if targets:
        path = data.draw(st.sampled_from(targets))
        parent = mutated
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = value
    validator = request_validator(version, action)
    assert validator is not None
    assert fast_verdict(version, action, mutated) == validator.is_valid(mutated)


def test_invalid_payloads_are_still_explained_by_jsonschema() -> None:
    validator = request_validator("1.6", "StatusNotification")
    assert validator is not None
    problem = violation(validator, {"connectorId": "one", "errorCode": "NoError", "status": "X"})
    assert problem is not None and problem.kind in ("type", "property")
    assert "connectorId" in str(problem) or "status" in str(problem)


def test_preload_reads_every_schema_so_no_session_opens_a_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handled = {"1.6": list(Session16.HANDLERS), "2.0.1": list(Session2.HANDLERS),
               "2.1": list(Session2.HANDLERS)}  # fmt: skip
    loaded = preload(handled)
    assert loaded > 300  # 1.6, 2.0.1 and 2.1: requests and responses

    def no_files(*_: Any, **__: Any) -> Any:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(validation, "_read_schema", no_files)
    for version, actions in handled.items():
        for action in actions:
            validator = request_validator(version, action)
            if validator is not None:
                _fast_check(validator)  # compiled already
    assert validation.outgoing_violation("2.0.1", "Reset", {"type": "Immediate"}) is None


def _profile(limit: float) -> dict[str, Any]:
    period = {"startPeriod": 0, "limit": limit}
    schedule = {"chargingRateUnit": "A", "chargingSchedulePeriod": [period]}
    profile = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
               "chargingProfileKind": "Absolute", "chargingSchedule": schedule}  # fmt: skip
    return {"connectorId": 1, "csChargingProfiles": profile}


@given(tenths=st.integers(min_value=0, max_value=10_000), hundredths=st.integers(1, 9))
def test_commands_are_checked_with_decimal_multiples(tenths: int, hundredths: int) -> None:
    """1.6 limits are `multipleOf 0.1`: 7.1 A passes (a binary float fails it in jsonschema),
    7.15 A does not; the compiled check and the explaining one agree."""
    assert validation.outgoing_violation("1.6", "SetChargingProfile", _profile(tenths / 10)) is None
    odd = round(tenths / 10 + hundredths / 100, 2)
    problem = validation.outgoing_violation("1.6", "SetChargingProfile", _profile(odd))
    assert problem is not None and "multiple of 0.1" in problem
