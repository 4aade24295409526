"""The compiled schema check agrees with `jsonschema` on real payloads and their mutations."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.ocpp.fastschema import compile_schema
from drivers.ocpp.validation import request_validator

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


@pytest.mark.parametrize(("version", "action", "payload"), CORPUS)
def test_compiled_check_agrees_with_jsonschema(
    version: str, action: str, payload: dict[str, Any]
) -> None:
    validator = request_validator(version, action)
    assert validator is not None
    fast = compile_schema(validator.schema)
    assert fast is not None
    checked = 0
    for candidate in mutations(payload):
        assert fast(candidate) == validator.is_valid(candidate), candidate
        checked += 1
    assert checked > 10


def test_unsupported_keywords_do_not_compile() -> None:
    assert compile_schema({"type": "number", "multipleOf": 0.1}) is None
    assert compile_schema({"$ref": "#/definitions/missing"}) is None
    assert compile_schema({"type": "object", "additionalProperties": {"type": "string"}}) is None
