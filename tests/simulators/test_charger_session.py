"""Whole charging sessions: plug-in, authorize, start, meter values, taper, stop."""

from __future__ import annotations

from typing import Any

import pytest

from simulators.charger import EvseStatus, EvSpec, OcppVersion, StopReason
from tests.simulators.conftest import VERSIONS, CentralSystem, wait_until


def _energy(samples: list[dict[str, Any]]) -> float:
    for sample in samples:
        if sample.get("measurand") == "Energy.Active.Import.Register":
            return float(sample["value"])
    raise AssertionError("no energy register in meter values")


def _soc(samples: list[dict[str, Any]]) -> float:
    return next(float(s["value"]) for s in samples if s.get("measurand") == "SoC")


@pytest.mark.parametrize("version", VERSIONS)
async def test_full_session(csms: CentralSystem, sims: Any, version: OcppVersion) -> None:
    sim = sims(csms.url, version, max_power_w=11_000)
    await sim.start()
    await sim.wait_booted()
    ev = EvSpec(capacity_kwh=40, initial_soc_pct=30, max_charge_w=11_000)
    session = await sim.plug_in(1, ev=ev, id_tag="04A2B3C4")
    assert session is not None
    assert sim.power_w(1) == pytest.approx(11_000)

    if version is OcppVersion.V16:
        await csms.wait_calls("MeterValues", count=4)
        start = csms.calls("StartTransaction")[0]
        assert start["idTag"] == "04A2B3C4" and start["connectorId"] == 1
        meters = [m for m in csms.calls("MeterValues") if m.get("transactionId") == 1]
        series = [m["meterValue"][0]["sampledValue"] for m in meters]
        assert all(isinstance(s["value"], str) for s in series[0])
        measurands = {(s["measurand"], s.get("phase")) for s in series[0]}
        assert ("Current.Import", "L3") in measurands and ("Voltage", "L1-N") in measurands
        assert ("Power.Active.Import", None) in measurands
        await sim.stop_transaction(1, StopReason.LOCAL)
        stop = (await csms.wait_calls("StopTransaction"))[0]
        assert stop["transactionId"] == 1 and stop["reason"] == "Local"
        assert stop["meterStop"] > start["meterStart"]
        statuses = [s["status"] for s in csms.calls("StatusNotification") if s["connectorId"] == 1]
        assert statuses[:3] == ["Available", "Preparing", "Charging"]
        await csms.wait_for(lambda: csms.calls("StatusNotification")[-1]["status"] == "Finishing")
    else:
        await csms.wait_calls("TransactionEvent", count=5)
        events = csms.calls("TransactionEvent")
        assert events[0]["eventType"] == "Started"
        assert events[0]["idToken"] == {"idToken": "04A2B3C4", "type": "ISO14443"}
        updates = [e for e in events if e["triggerReason"] == "MeterValuePeriodic"]
        series = [e["meterValue"][0]["sampledValue"] for e in updates]
        assert all(isinstance(s["value"], float | int) for s in series[0])
        await sim.stop_transaction(1, StopReason.LOCAL)
        await csms.wait_for(lambda: csms.calls("TransactionEvent")[-1]["eventType"] == "Ended")
        ended = csms.calls("TransactionEvent")[-1]
        assert ended["transactionInfo"]["stoppedReason"] == "Local"
        seq = [e["seqNo"] for e in csms.calls("TransactionEvent")]
        assert seq == list(range(len(seq)))
        assert (
            len({e["transactionInfo"]["transactionId"] for e in csms.calls("TransactionEvent")})
            == 1
        )

    energies = [_energy(s) for s in series]
    socs = [_soc(s) for s in series]
    assert energies == sorted(energies) and energies[-1] > energies[0]
    assert socs == sorted(socs) and socs[-1] > socs[0] >= 30
    assert sim.power_w(1) == 0


async def test_charging_tapers_and_stops_when_full(csms: CentralSystem, sims: Any) -> None:
    sim = sims(csms.url, time_scale=600.0, meter_interval_s=30.0)
    await sim.start()
    await sim.wait_booted()
    ev = EvSpec(capacity_kwh=2.0, initial_soc_pct=70, max_charge_w=11_000)
    await sim.plug_in(1, ev=ev, id_tag="TAG")
    powers: list[float] = []

    def full() -> bool:
        powers.append(sim.power_w(1))
        return sim.status(1) is EvseStatus.SUSPENDED_EV

    await wait_until(full, timeout_s=20)
    assert sim.soc_pct(1) == pytest.approx(100.0)
    assert sim.power_w(1) == 0
    tapering = [p for p in powers if 0 < p < 11_000]
    assert tapering, "power should fall between 80 % and 100 % SoC"
    await csms.wait_for(
        lambda: any(s["status"] == "SuspendedEV" for s in csms.calls("StatusNotification"))
    )


async def test_session_until_soc_ends_and_unplugs(csms: CentralSystem, sims: Any) -> None:
    sim = sims(csms.url, OcppVersion.V201, time_scale=600.0, meter_interval_s=30.0)
    await sim.start()
    await sim.wait_booted()
    ev = EvSpec(capacity_kwh=5.0, initial_soc_pct=50)
    await sim.plug_in(1, ev=ev, id_tag="TAG", until_soc_pct=60)
    await csms.wait_for(
        lambda: any(e["eventType"] == "Ended" for e in csms.calls("TransactionEvent"))
    )
    ended = next(e for e in csms.calls("TransactionEvent") if e["eventType"] == "Ended")
    assert ended["transactionInfo"]["stoppedReason"] == "SOCLimitReached"
    await csms.wait_for(
        lambda: csms.calls("StatusNotification")[-1]["connectorStatus"] == "Available"
    )
    assert not sim.evses[1].plugged


async def test_rejected_id_tag_does_not_start(csms: CentralSystem, sims: Any) -> None:
    csms.behaviour.authorize_status = "Invalid"
    sim = sims(csms.url)
    await sim.start()
    await sim.wait_booted()
    assert await sim.plug_in(1, id_tag="BAD") is None
    assert csms.calls("Authorize")[0]["idTag"] == "BAD"
    assert not csms.calls("StartTransaction")
    assert sim.power_w(1) == 0


async def test_v16_id_refused_at_start_stops_deauthorized(csms: CentralSystem, sims: Any) -> None:
    csms.behaviour.start_status = "Blocked"
    sim = sims(csms.url)
    await sim.start()
    await sim.wait_booted()
    await sim.plug_in(1, id_tag="LATE-BLOCK")
    stop = (await csms.wait_calls("StopTransaction"))[0]
    assert stop["reason"] == "DeAuthorized"
    assert stop["transactionId"] == 1
    await wait_until(lambda: sim.power_w(1) == 0 and sim.transaction_id(1) is None)
