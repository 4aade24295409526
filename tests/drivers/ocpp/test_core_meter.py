"""MeterValues translation: recorded-style payloads (tests/fixtures/ocpp/) -> telemetry."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from drivers.ocpp.core.energy import (
    EnergyReference,
    correct_energy_scale,
    correct_power_scale,
    session_energy_wh,
)
from drivers.ocpp.core.meter import read_meter_value
from gateway.foundation.model import ChargerId

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


MINUTE = 60.0
HOUR = 3600.0


@pytest.mark.parametrize(
    ("value", "reference_wh", "elapsed_s", "expected"),
    [
        (12.5, 12_000.0, MINUTE, 12_500.0),  # kWh labelled Wh: the register cannot go back
        (12_500_000.0, 12_000.0, MINUTE, 12_500.0),  # Wh labelled kWh: 12.5 MWh in a minute
        (12_500.0, 12_000.0, MINUTE, 12_500.0),  # fine
        (12.5, None, MINUTE, 12.5),  # nothing to compare with: as sent
        (5.0, 12_000.0, MINUTE, 5.0),  # a replaced meter: impossible either way, as sent
        (0.0, 12_000.0, MINUTE, 0.0),
        # Unusual but possible readings are never "corrected" (that would bill nothing):
        (12_000.0, 12.0, 2 * HOUR, 12_000.0),  # a new meter, a long session at 22 kW
        (184.2, 0.2, MINUTE, 184.2),  # 184 Wh in a minute at 11 kW
        (30_000_000.0, 29_000.0, 60 * 24 * 365 * 100 * MINUTE, 30_000_000.0),  # a long life
    ],
)
def test_energy_mislabel_needs_physical_evidence(
    value: float, reference_wh: float | None, elapsed_s: float, expected: float
) -> None:
    reference = None if reference_wh is None else EnergyReference(reference_wh, 1000.0)
    got = correct_energy_scale(
        value, reference, received_s=1000.0 + elapsed_s, max_power_w=22_000.0
    )
    assert got == pytest.approx(expected)


def test_the_chargers_clock_counts_when_readings_arrive_together() -> None:
    # Queued offline: both readings arrive in the same second, an hour apart on the charger.
    reference = EnergyReference(1_000.0, received_s=5_000.0, sampled_s=1_000.0)
    value = correct_energy_scale(
        20_000.0, reference, received_s=5_000.5, sampled_s=1_000.0 + HOUR, max_power_w=22_000.0
    )
    assert value == 20_000.0


def test_unlabelled_wh_fields_are_only_ever_scaled_up() -> None:
    # 1.6 meterStop is Wh by definition: 12 kWh after 12 Wh in seconds is odd, but dividing
    # it by 1000 would publish a session of 0 Wh. As sent.
    reference = EnergyReference(12.0, 1000.0)
    assert (
        correct_energy_scale(
            12_000.0, reference, received_s=1005.0, max_power_w=22_000.0, labelled=False
        )
        == 12_000.0
    )
    reference = EnergyReference(15_000.0, 1000.0)
    assert (
        correct_energy_scale(
            15.2, reference, received_s=1600.0, max_power_w=22_000.0, labelled=False
        )
        == 15_200.0
    )


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


@pytest.mark.parametrize("v2", [False, True])
def test_v2g_export_register_and_current_are_kept(v2: bool) -> None:
    rows = [
        ("Energy.Active.Import.Register", "1200.0", "Wh", None),
        ("Energy.Active.Export.Register", "3.5", "kWh", None),
        ("Power.Active.Export", "7000", "W", None),
        ("Current.Export", "10.1", "A", "L1"),
        ("Current.Export", "10.3", "A", "L2"),
    ]
    values = [
        {"measurand": m, "value": float(v) if v2 else v, "phase": p}
        | ({"unitOfMeasure": {"unit": u}} if v2 else {"unit": u})
        for m, v, u, p in rows
    ]
    meter_value = {"timestamp": "2026-03-01T08:59:59Z", "sampledValue": [
        {k: x for k, x in value.items() if x is not None} for value in values
    ]}  # fmt: skip
    t = read_meter_value(
        meter_value, charger_id=ChargerId("CP-1"), evse=1, transaction_id="7", now_s=NOW, v2=v2
    ).telemetry
    assert t.energy_export_wh == pytest.approx(3500.0)
    assert t.current_export_a == pytest.approx(10.3)
    assert t.power_w == pytest.approx(-7000.0)
