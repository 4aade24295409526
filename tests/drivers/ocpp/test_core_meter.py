"""MeterValues translation: recorded-style payloads (tests/fixtures/ocpp/) -> telemetry."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from drivers.ocpp.core.energy import correct_energy_scale, correct_power_scale, session_energy_wh
from drivers.ocpp.core.meter import read_meter_value
from gateway.model import ChargerId

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ocpp"
CASES = json.loads((FIXTURES / "meter_values.json").read_text())
NOW = datetime.fromisoformat("2026-03-01T09:00:00+00:00").timestamp()
FIELDS = (
    "energy_wh",
    "power_w",
    "current_a",
    "voltage_v",
    "soc_pct",
    "frequency_hz",
    "temperature_c",
    "power_offered_w",
)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_meter_value_translation(case: dict[str, Any]) -> None:
    sample = read_meter_value(
        case["meterValue"],
        charger_id=ChargerId("CP-1"),
        evse=1,
        transaction_id="7",
        now_s=NOW,
        v2=case["v2"],
    )
    t, expect = sample.telemetry, case["expect"]
    for name in FIELDS:
        assert getattr(t, name) == pytest.approx(expect.get(name)), name
    assert (t.charger_id, t.evse, t.transaction_id) == ("CP-1", 1, "7")
    if "phases" in expect:
        assert t.phases is not None
        got = {k: {f: v for f, v in vars_(p).items() if v is not None} for k, p in t.phases.items()}
        assert got == expect["phases"]
    if "context" in expect:
        assert sample.context == expect["context"]
    if "sampled_at" in expect:
        at = t.sampled_at.isoformat() if t.sampled_at else None
        assert at == expect["sampled_at"]
    assert len(sample.skipped) == expect.get("skipped", 0)


def vars_(p: Any) -> dict[str, Any]:
    return {f: getattr(p, f) for f in ("power_w", "current_a", "voltage_v", "energy_wh")}


@pytest.mark.parametrize(
    ("value", "reference", "expected"),
    [
        (12.5, 12_000.0, 12_500.0),  # kWh labelled Wh
        (12_500_000.0, 12_000.0, 12_500.0),  # Wh labelled kWh (converted twice)
        (12_500.0, 12_000.0, 12_500.0),  # fine
        (12.5, None, 12.5),  # nothing to compare with: as sent
        (5.0, 12_000.0, 5.0),  # a meter that was replaced is not "corrected"
        (0.0, 12_000.0, 0.0),
    ],
)
def test_energy_mislabel_detection(value: float, reference: float | None, expected: float) -> None:
    assert correct_energy_scale(value, reference) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("power", "expected"), [(7_200_000.0, 7_200.0), (7_200.0, 7_200.0), (-7_200_000.0, -7_200.0)]
)
def test_power_mislabel_detection(power: float, expected: float) -> None:
    assert correct_power_scale(power, 22_000.0) == expected


def test_session_energy() -> None:
    assert session_energy_wh(1000.0, 3500.5) == 2500.5
    assert session_energy_wh(None, 3500.0) is None
    assert session_energy_wh(1000.0, None) is None
    assert session_energy_wh(5000.0, 10.0) is None  # meter went back: no invented number
