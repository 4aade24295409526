"""Faults under load: chargers charge through the gateway while the broker restarts in a loop,
the daemon is killed with SIGKILL at random points, the disk fills up or becomes slow.

Each test checks what docs/mqtt-api.md promises a consumer: after dropping every `seq` already
seen, `seq` runs 1, 2, 3 ... with no gap, records arrive in order, and every charging session
has exactly one `started` and one `ended` event with the energy the charger metered.

Short by default (CI); `PILEBRIDGE_FAULT_ROUNDS=20` runs longer loops. The random points come
from a seeded generator (`PILEBRIDGE_FAULT_SEED`), printed on failure.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import AsyncIterator

import pytest
import yaml

from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from gateway.outbox_db import OutboxDb
from simulators.charger.dialect import StopReason
from tests.conftest import running_gateway
from tests.e2e.test_crash_recovery import (
    Rig,
    assert_no_gap,
    assert_sessions_complete,
    availability,
    charging,
    deduped,
    rig,
    stop_and_collect,
)
from tests.gateway.test_outbox_faults import fill_disk, free_disk
from tests.seq_check import seq_arrived

__all__ = ["rig"]  # the fixture, shared with the crash-recovery tests

pytestmark = pytest.mark.fault

ROUNDS = int(os.environ.get("PILEBRIDGE_FAULT_ROUNDS", "3"))
SEED = int(os.environ.get("PILEBRIDGE_FAULT_SEED", str(int(time.time()) % 100_000)))
FAULTS_INJECTED: dict[str, int] = {}
"""Counted per kind so a run can report how many faults it injected (printed at the end)."""


RECORDS_CHECKED: list[int] = []
"""Records (seqs) each test checked for gaps, order and completeness."""


def injected(kind: str) -> None:
    FAULTS_INJECTED[kind] = FAULTS_INJECTED.get(kind, 0) + 1


@pytest.fixture
def rnd() -> random.Random:
    print(f"PILEBRIDGE_FAULT_SEED={SEED}")
    return random.Random(SEED)


async def new_sessions(rig: Rig) -> None:
    """End every running session and start a new one on each charger."""
    for sim in rig.fleet:
        await sim.stop_transaction(1, StopReason.LOCAL)
        await sim.plug_in(1, id_tag=f"TAG-{sim.config.charger_id}")


async def end_sessions(rig: Rig) -> None:
    for sim in rig.fleet:
        if sim.transaction_id(1) is not None:
            await sim.stop_transaction(1, StopReason.LOCAL)
        await sim.flush(30)


async def finish_daemon(rig: Rig) -> None:
    """End the sessions, let the gateway deliver everything, stop it, check the invariants."""
    await end_sessions(rig)
    await rig.daemon.drained(60)
    last_seq = await stop_and_collect(rig)
    records = deduped(rig.collector)
    assert_no_gap(records, last_seq)
    assert_sessions_complete(rig, records, sessions=None)
    RECORDS_CHECKED.append(len(records))


async def test_broker_restarts_in_a_loop_while_chargers_charge(
    rig: Rig, mosquitto: PrivateMosquitto, rnd: random.Random
) -> None:
    daemon, collector = rig.daemon, rig.collector
    await daemon.start()
    await collector.wait_for(lambda: b"online" in availability(collector, rig.prefix), 20)
    await charging(rig)
    for round_ in range(ROUNDS):
        await asyncio.sleep(rnd.uniform(0.1, 0.8))
        kill = rnd.random() < 0.5
        await mosquitto.stop(kill=kill)  # SIGKILL: the broker loses what it did not save
        injected("broker_kill" if kill else "broker_stop")
        await asyncio.sleep(rnd.uniform(0.0, 0.5))
        if round_ % 2:
            await new_sessions(rig)  # sessions open and close while the broker is away
        await mosquitto.start()
    await finish_daemon(rig)


async def test_kill_9_at_random_points(rig: Rig, rnd: random.Random) -> None:
    daemon, fleet, collector = rig.daemon, rig.fleet, rig.collector
    await daemon.start()
    await collector.wait_for(lambda: b"online" in availability(collector, rig.prefix), 20)
    await charging(rig)
    for round_ in range(ROUNDS):
        await asyncio.sleep(rnd.uniform(0.05, 1.0))  # mid-commit, mid-publish, mid-handler
        assert await daemon.signal(signal.SIGKILL) == -signal.SIGKILL
        injected("sigkill")
        if round_ % 2:
            await new_sessions(rig)  # chargers queue their messages while the gateway is down
        await daemon.start()
        for sim in fleet:
            await sim.wait_booted(30)
    for sim in fleet:
        await sim.flush(30)
    await finish_daemon(rig)


# -- in-process gateway: the disk is reached through the outbox's own connection -------------


@pytest.fixture
async def live_rig(rig: Rig) -> AsyncIterator[tuple[Rig, Gateway]]:
    """The same chargers and control centre, with the gateway in this process."""
    config = Config.model_validate(yaml.safe_load(rig.daemon.config_path.read_text()))
    async with running_gateway(config) as gateway:
        yield rig, gateway


async def finish_live(rig: Rig, gateway: Gateway) -> None:
    await end_sessions(rig)
    async with asyncio.timeout(60):
        while gateway.outbox.depth:
            await asyncio.sleep(0.05)
    last_seq = gateway.outbox.last_seq
    await seq_arrived(rig.collector, last_seq, 30)
    records = deduped(rig.collector)
    assert_no_gap(records, last_seq)
    assert_sessions_complete(rig, records, sessions=None)
    RECORDS_CHECKED.append(len(records))


async def test_full_disk_under_load(
    live_rig: tuple[Rig, Gateway], mosquitto: PrivateMosquitto, rnd: random.Random
) -> None:
    """The disk fills up while the broker is away (so the outbox must grow: in steady state
    it reuses the pages of delivered rows and a full disk goes unnoticed)."""
    rig, gateway = live_rig
    await charging(rig)
    for _ in range(ROUNDS):
        await asyncio.sleep(rnd.uniform(0.1, 0.5))
        await mosquitto.stop()
        await fill_disk(gateway.outbox)  # a real SQLITE_FULL on the next page it needs
        injected("disk_full")
        async with asyncio.timeout(20):
            while gateway.outbox.failing is None:
                await asyncio.sleep(0.02)
        await asyncio.sleep(rnd.uniform(0.2, 1.0))  # meter values keep coming meanwhile
        assert gateway.health.document()[1]["status"] == "down"
        await free_disk(gateway.outbox)
        async with asyncio.timeout(20):
            while gateway.outbox.failing is not None:
                await asyncio.sleep(0.02)
        await mosquitto.start()
        await new_sessions(rig)
    assert gateway.outbox.withdrawn == 0
    await finish_live(rig, gateway)


async def test_slow_disk_under_load(
    live_rig: tuple[Rig, Gateway], rnd: random.Random, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every sync (the WAL's fdatasync with synchronous=full) takes 20-200 ms longer."""
    rig, gateway = live_rig
    sync = OutboxDb.sync
    slow = random.Random(SEED + 1)

    def slow_sync(self: OutboxDb) -> None:
        time.sleep(slow.uniform(0.02, 0.2))  # on the outbox's database thread, as fsync is
        injected("slow_sync")
        sync(self)

    monkeypatch.setattr(OutboxDb, "sync", slow_sync)
    await charging(rig)
    for _ in range(ROUNDS):
        await asyncio.sleep(rnd.uniform(0.2, 0.6))
        await new_sessions(rig)
    await finish_live(rig, gateway)


def teardown_module() -> None:
    print(f"faults injected: {FAULTS_INJECTED}; records checked: {RECORDS_CHECKED}")
