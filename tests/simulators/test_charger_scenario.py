"""Scenario files: parsing (strict) and playing them against a real central system."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
from pathlib import Path
from typing import Any

import pytest

from simulators.charger import EvSpec, OcppVersion, load_scenario, parse_scenario
from simulators.charger.scenario import auto_sessions, parse_session_spec, run_scenario
from tests.simulators.conftest import CentralSystem

SCENARIO = """
ev: {capacity_kwh: 50}
sessions:
  - charger: CP-1
    at_s: 5
    evse: 2
    id_tag: "0123ABCD"
    until_soc_pct: 80
    ev: {initial_soc_pct: 30, max_charge_w: 7400}
  - charger: "*"
    at_s: 60
    duration_s: 1800
faults:
  - {charger: CP-2, at_s: 120, fault: disconnect, offline_s: 10}
  - {at_s: 0, fault: timestamps, style: unset}
"""


def test_parse_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    scenario = load_scenario(path)
    first, second = scenario.sessions
    assert (first.charger, first.at_s, first.evse, first.id_tag) == ("CP-1", 5, 2, "0123ABCD")
    assert first.until_soc_pct == 80 and first.duration_s is None
    assert first.ev == EvSpec(capacity_kwh=50, initial_soc_pct=30, max_charge_w=7400)
    assert second.charger == "*" and second.duration_s == 1800 and second.ev.capacity_kwh == 50
    disconnect, stamps = scenario.faults
    assert (disconnect.fault, disconnect.charger, disconnect.offline_s) == (
        "disconnect",
        "CP-2",
        10,
    )
    assert (stamps.charger, stamps.style) == ("*", "unset")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sesions": []}, "sesions"),
        ({"sessions": [{"at": 5}]}, "sessions[0]: unknown key(s) at"),
        ({"sessions": [{"ev": {"capacity": 5}}]}, "sessions[0].ev: unknown key(s) capacity"),
        ({"sessions": [{"duration_s": 1, "until_soc_pct": 2}]}, "not both"),
        ({"sessions": [{"ev": {"initial_soc_pct": 150}}]}, "initial_soc_pct"),
        ({"faults": [{"fault": "explode"}]}, "faults[0].fault"),
        ({"faults": [{"fault": "timestamps", "style": "mars"}]}, "mars"),
        ([1, 2], "mapping"),
    ],
)
def test_parse_errors_name_the_key(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_scenario(data)


def test_command_line_session() -> None:
    plan = parse_session_spec(
        "charger=CP-3, at_s=2.5, id_tag=0042, until_soc_pct=90, capacity_kwh=75"
    )
    assert (plan.charger, plan.at_s, plan.id_tag, plan.until_soc_pct) == ("CP-3", 2.5, "0042", 90)
    assert plan.ev.capacity_kwh == 75
    with pytest.raises(ValueError):
        parse_session_spec("charger")


async def test_scenario_plays_sessions_and_faults(csms: CentralSystem, sims: Any) -> None:
    one = sims(csms.url, OcppVersion.V16, charger_id="CP-1", evse_count=2, time_scale=600.0)
    two = sims(csms.url, OcppVersion.V201, charger_id="CP-2", time_scale=600.0)
    scenario = parse_scenario(
        {
            "sessions": [
                {"charger": "CP-1", "at_s": 30, "evse": 2, "id_tag": "T1", "duration_s": 300},
                {
                    "charger": "CP-2",
                    "at_s": 30,
                    "id_tag": "T2",
                    "until_soc_pct": 25,
                    "ev": {"capacity_kwh": 10, "initial_soc_pct": 20},
                },
            ],
            "faults": [{"charger": "CP-2", "at_s": 10, "fault": "timestamps", "style": "local"}],
        }
    )
    for sim in (one, two):
        await sim.start()
    await run_scenario(scenario, [one, two])
    start = (await csms.wait_calls("StartTransaction"))[0]
    assert (start["connectorId"], start["idTag"]) == (2, "T1")
    stop = (await csms.wait_calls("StopTransaction"))[0]
    assert stop["reason"] == "Local"
    await csms.wait_for(
        lambda: any(e["eventType"] == "Ended" for e in csms.calls("TransactionEvent", "CP-2"))
    )
    events = csms.calls("TransactionEvent", "CP-2")
    assert events[0]["idToken"]["idToken"] == "T2"
    assert not events[0]["timestamp"].endswith("Z")  # the quirk came first


async def test_auto_sessions_bring_evs(csms: CentralSystem, sims: Any) -> None:
    sim = sims(csms.url, OcppVersion.V201, evse_count=2, time_scale=600.0)
    await sim.start()
    driver = asyncio.create_task(auto_sessions(sim, random.Random(3), mean_idle_s=60))
    try:
        await csms.wait_for(
            lambda: any(e["eventType"] == "Started" for e in csms.calls("TransactionEvent"))
        )
    finally:
        driver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await driver
    assert any(e.plugged for e in sim.evses.values())
