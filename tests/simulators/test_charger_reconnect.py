"""Losing the central system: backoff, reconnect, and transaction messages kept in order."""

from __future__ import annotations

from typing import Any

import pytest

from simulators.charger import EvSpec, OcppVersion
from tests.simulators.conftest import VERSIONS, CentralSystem, wait_until

EV = EvSpec(capacity_kwh=60, initial_soc_pct=20)


def _tx_frames(csms: CentralSystem, since: int) -> list[tuple[str, dict[str, Any]]]:
    tx_actions = {"StartTransaction", "StopTransaction", "MeterValues", "TransactionEvent"}
    return [
        (f.parsed[2], f.parsed[3])
        for f in csms.frames[since:]
        if isinstance(f.parsed, list) and f.parsed[0] == 2 and f.parsed[2] in tx_actions
    ]


@pytest.mark.parametrize("version", VERSIONS)
async def test_queued_while_server_down(
    csms: CentralSystem, sims: Any, version: OcppVersion
) -> None:
    sim = sims(csms.url, version)
    await sim.start()
    await sim.wait_booted()
    await sim.plug_in(1, ev=EV, id_tag="TAG")
    await csms.wait_for(lambda: len(_tx_frames(csms, 0)) >= 3)

    await csms.stop()
    await sim.wait_disconnected()
    await wait_until(lambda: len(sim.queue) >= 4)
    await sim.stop_transaction(1)
    queued = len(sim.queue)
    restart_at = len(csms.frames)
    await csms.start()
    await sim.wait_booted()
    await sim.flush()

    after = _tx_frames(csms, restart_at)
    assert len(after) >= queued
    assert not csms.calls("BootNotification")[1:]  # a reconnect is not a reboot
    if version is OcppVersion.V16:
        actions = [a for a, _ in after]
        assert actions[-1] == "StopTransaction"
        assert set(actions[:-1]) == {"MeterValues"}
        assert {p["transactionId"] for _, p in after} == {1}
        stamps = [p["meterValue"][0]["timestamp"] for a, p in after if a == "MeterValues"]
        assert stamps == sorted(stamps)
    else:
        # all but a message that was in flight when the server went are marked offline
        assert sum(1 for _, p in after if p.get("offline") is True) >= 4
        assert after[-1][1]["eventType"] == "Ended" and after[-1][1]["offline"] is True
        seq_after = [p["seqNo"] for _, p in after]
        assert seq_after == sorted(seq_after)
        every = {p["seqNo"] for _, p in _tx_frames(csms, 0)}
        assert every == set(range(max(every) + 1))  # no gap across the outage


async def test_v16_start_while_offline_gets_id_later(csms: CentralSystem, sims: Any) -> None:
    csms.behaviour.tx_id = 77
    sim = sims(csms.url)
    await sim.start()
    await sim.wait_booted()
    await csms.stop()
    await sim.wait_disconnected()
    await sim.plug_in(1, ev=EV, id_tag="OFFLINE")
    await wait_until(lambda: len(sim.queue) >= 3)
    await sim.stop_transaction(1)
    await csms.start()
    await sim.wait_booted()
    await sim.flush()
    after = _tx_frames(csms, 0)
    assert after[0][0] == "StartTransaction"
    assert after[-1] == ("StopTransaction", after[-1][1])
    assert after[-1][1]["transactionId"] == 77
    assert all(p["transactionId"] == 77 for a, p in after if a == "MeterValues")


async def test_backoff_keeps_trying(csms: CentralSystem, sims: Any) -> None:
    sim = sims(csms.url)
    await csms.stop()
    await sim.start()
    await wait_until(lambda: sim.link is None)
    await csms.start()
    await sim.wait_booted(timeout_s=10)
    assert sim.connections == 1


async def test_boot_on_reconnect_option(csms: CentralSystem, sims: Any) -> None:
    sim = sims(csms.url, OcppVersion.V201, boot_on_reconnect=True)
    await sim.start()
    await sim.wait_booted()
    await sim.inject.disconnect()
    await csms.wait_calls("BootNotification", count=2)
    assert sim.connections == 2
