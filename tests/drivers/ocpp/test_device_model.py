"""Pure functions of the configuration commands: keys, payloads, results, report parts."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.ocpp.core.device_model import (
    VariableKey,
    entries_from_configuration,
    entries_from_report,
    split_get_results,
)
from drivers.ocpp.core.report_parts import ReportParts


def test_keys_parse_with_instances_and_addressing() -> None:
    key = VariableKey.parse("EVSE[main]/Power[AC]", evse=1, connector=2, attribute="MaxSet")
    assert key.component_json() == {
        "name": "EVSE",
        "instance": "main",
        "evse": {"id": 1, "connectorId": 2},
    }
    assert key.variable_json() == {"name": "Power", "instance": "AC"}
    assert key.text == "EVSE[main]/Power"
    assert VariableKey.parse("A/B[x]", instance="y").instance == "y"
    for bad in ("HeartbeatInterval", "a/b/c", "/b", "a/", "a[/b"):
        with pytest.raises(ValueError, match="Component/Variable"):
            VariableKey.parse(bad)


@given(st.text(max_size=200))
def test_any_text_parses_or_says_why(text: str) -> None:
    try:
        key = VariableKey.parse(text)
    except ValueError as exc:
        assert "Component/Variable" in str(exc)
    else:
        assert "/" not in key.component and "/" not in key.variable


def test_results_are_matched_by_coordinates_not_order() -> None:
    keys = [VariableKey.parse("A/X"), VariableKey.parse("B/Y"), VariableKey.parse("C/Z")]
    answer = {
        "getVariableResult": [
            {
                "attributeStatus": "UnknownComponent",
                "component": {"name": "C"},
                "variable": {"name": "Z"},
            },
            {
                "attributeStatus": "Accepted",
                "attributeValue": "2",
                "component": {"name": "B"},
                "variable": {"name": "Y"},
            },
            {"attributeStatus": "Rejected", "component": {"name": "A"}, "variable": {"name": "X"}},
        ]
    }
    split = split_get_results(keys, answer)
    assert split.values == [{"key": "B/Y", "value": "2"}]
    assert split.unknown == ["C/Z"]
    assert [r["status"] for r in split.refused] == ["Rejected", "UnknownComponent"]


def test_v16_configuration_entries() -> None:
    split = entries_from_configuration(
        {
            "configurationKey": [
                {"key": "A", "readonly": True, "value": "1"},
                {"key": "B", "readonly": False},
                "junk",
            ],
            "unknownKey": ["C"],
        }
    )
    assert split.values == [
        {"key": "A", "readonly": True, "value": "1"},
        {"key": "B", "readonly": False},
    ]
    assert split.unknown == ["C"]


def _part(seq: int, tbc: bool, n: int) -> dict[str, object]:
    return {
        "requestId": 1,
        "seqNo": seq,
        "tbc": tbc,
        "generatedAt": "2024-01-01T00:00:00Z",
        "reportData": [
            {
                "component": {"name": f"C{seq}"},
                "variable": {"name": f"V{i}"},
                "variableAttribute": [{"value": str(i), "mutability": "ReadOnly"}],
                "variableCharacteristics": {"dataType": "integer", "supportsMonitoring": False},
            }
            for i in range(n)
        ],
    }


@given(st.integers(min_value=1, max_value=12), st.randoms(use_true_random=False), st.booleans())
def test_report_parts_in_any_order_with_repeats(
    count: int, rng: random.Random, repeat: bool
) -> None:
    parts = [_part(i, i < count - 1, 2) for i in range(count)]
    order = parts + (parts[:1] if repeat else [])
    rng.shuffle(order)
    assembled = ReportParts()
    done = [assembled.add(p) for p in order]
    assert done[-1] is True and assembled.missing == []
    entries = entries_from_report(assembled.report_data())
    assert [e["key"] for e in entries] == [f"C{i}/V{j}" for i in range(count) for j in range(2)]
    assert all(e["readonly"] and e["attribute"] == "Actual" for e in entries)


def test_an_incomplete_report_is_not_complete() -> None:
    parts = ReportParts()
    assert parts.add(_part(2, False, 1)) is False
    assert parts.add(_part(0, True, 1)) is False
    assert parts.missing == [1]
    assert parts.add({"seqNo": "x"}) is False
    assert parts.add(_part(1, True, 1)) is True
