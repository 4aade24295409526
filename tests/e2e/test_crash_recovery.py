"""The real daemon (`python -m gateway run`) killed or stopped mid-session: nothing is lost.

Simulated chargers (1.6J, 2.0.1, 2.1) charge through the gateway process; a persistent MQTT
subscriber, started before anything else, plays the control centre. The checks are the ones
docs/mqtt-api.md promises a consumer: after dropping every `seq` already seen, `seq` runs
1, 2, 3 ... with no gap across the restart, every session has one `started` and one `ended`
event, and `ended` carries the energy the charger metered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import urllib.request
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.demo.broker import PrivateMosquitto, free_port
from gateway.foundation.config import Config
from simulators.charger import ChargerConfig, ChargerFleet, ChargerSim, EvSpec, OcppVersion
from simulators.charger.dialect import StopReason
from tests.conftest import Collector, open_ocpp
from tests.seq_check import assert_no_gap, deduped, seq_arrived

ROOT = Path(__file__).resolve().parents[2]
TIME_SCALE = 60.0  # one simulated minute per real second
METER_INTERVAL_S = 12.0  # simulated: a meter value every 0.2 s real
VERSIONS = (OcppVersion.V16, OcppVersion.V201, OcppVersion.V21)


@dataclass
class Daemon:
    """`python -m gateway run -c FILE` as a child process, logging JSON lines to a file."""

    config_path: Path
    log_path: Path
    http_port: int
    proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with open(self.log_path, "a") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway", "run", "-c", str(self.config_path),
                cwd=ROOT, env=dict(os.environ), stdout=log, stderr=log,
            )  # fmt: skip
        async with asyncio.timeout(20):
            while True:
                with contextlib.suppress(OSError):
                    self.health()
                    return
                assert self.proc.returncode is None, self.logs()
                await asyncio.sleep(0.05)

    def health(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.http_port}/healthz"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    async def signal(self, signum: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(signum)
        code = await asyncio.wait_for(self.proc.wait(), 20)
        self.proc = None
        return code

    async def drained(self, timeout_s: float = 20.0) -> dict[str, Any]:
        """Wait until the outbox is empty; return that health document."""
        async with asyncio.timeout(timeout_s):
            while True:
                doc = self.health()
                if doc["outbox"]["depth"] == 0:
                    return doc
                await asyncio.sleep(0.1)

    def logs(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def closed_outbox(self) -> dict[str, Any]:
        """The `outbox_closed` line of the last stop: depth and last_seq as written to disk."""
        lines: list[dict[str, Any]] = [
            json.loads(x) for x in self.logs().splitlines() if x.startswith("{")
        ]
        closed = [x for x in lines if x.get("event") == "outbox_closed"]
        assert closed, "the gateway never logged outbox_closed"
        return closed[-1]


@dataclass
class Rig:
    daemon: Daemon
    fleet: ChargerFleet
    collector: Collector
    prefix: str


@pytest.fixture
async def rig(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config], tmp_path: Path
) -> AsyncIterator[Rig]:
    ocpp_port, http_port = free_port(), free_port()
    config = make_config(
        mosquitto,
        http={"host": "127.0.0.1", "port": http_port},
        ocpp=open_ocpp(ocpp_port, heartbeat_interval_s=60),
    )
    raw = json.loads(config.model_dump_json())
    raw["logging"] = {"level": "info", "format": "json"}
    config_path = tmp_path / "pilebridge.yaml"
    config_path.write_text(yaml.safe_dump(raw))
    prefix = f"{config.mqtt.topic_prefix}/{config.site.id}"
    daemon = Daemon(config_path, tmp_path / "gateway.log", http_port)
    fleet = ChargerFleet(
        [
            ChargerConfig(
                f"CP-{i}", url=f"ws://127.0.0.1:{ocpp_port}/ocpp", ocpp_version=version,
                max_power_w=11_000, meter_interval_s=METER_INTERVAL_S, time_scale=TIME_SCALE,
                backoff_initial_s=0.1, backoff_max_s=0.5, response_timeout_s=5,
                record_limit=100_000,
            )
            for i, version in enumerate(VERSIONS, start=1)
        ],
        stagger_s=0,
        seed=7,
        ev=EvSpec(capacity_kwh=60, initial_soc_pct=20, max_charge_w=11_000),
    )  # fmt: skip
    # The control centre subscribes (persistent session) before the gateway ever runs.
    async with Collector(mosquitto.host, mosquitto.port, f"{prefix}/#") as collector:
        try:
            yield Rig(daemon, fleet, collector, prefix)
        finally:
            await fleet.stop()
            if daemon.proc is not None and daemon.proc.returncode is None:
                daemon.proc.kill()
                await daemon.proc.wait()


# -- what the control centre saw -------------------------------------------------------------


def transaction_events(
    records: list[tuple[str, dict[str, Any]]],
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """started/ended bodies per (charger id, transaction id), in seq order."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for topic, body in records:
        if topic.endswith("/transaction") and body["event"] in ("started", "ended"):
            charger = topic.split("/")[-2]
            out.setdefault((charger, body["transaction_id"]), []).append(body)
    return out


def availability(collector: Collector, prefix: str) -> list[bytes]:
    topic = f"{prefix}/gateway/availability"
    return [
        m.payload
        for m in collector.messages
        if str(m.topic) == topic and isinstance(m.payload, bytes)
    ]


def is_subsequence(wanted: list[bytes], seen: list[bytes]) -> bool:
    it = iter(seen)
    return all(any(item == s for s in it) for item in wanted)


# -- what the chargers metered ----------------------------------------------------------------


def _register(meter_value: list[dict[str, Any]]) -> float:
    for sample in meter_value[0]["sampledValue"]:
        if sample.get("measurand") == "Energy.Active.Import.Register":
            return float(sample["value"])
    raise AssertionError(f"no energy register in {meter_value}")


def metered_sessions(sim: ChargerSim) -> dict[str, tuple[float, float | None]]:
    """transaction id -> (meter start, meter stop) as this charger sent them and the gateway
    answered (1.6 meterStart/meterStop; 2.x the Begin and End energy registers)."""
    sessions: dict[str, tuple[float, float | None]] = {}
    for call in sim.sent:
        if call.response is None:
            continue  # not answered (in flight at a crash): it was sent again
        p = call.payload
        if call.action == "StartTransaction":
            sessions[str(call.response["transactionId"])] = (float(p["meterStart"]), None)
        elif call.action == "StopTransaction":
            tx_id = str(p["transactionId"])
            sessions[tx_id] = (sessions[tx_id][0], float(p["meterStop"]))
        elif call.action == "TransactionEvent" and p["eventType"] in ("Started", "Ended"):
            tx_id = p["transactionInfo"]["transactionId"]
            if p["eventType"] == "Started":
                sessions[tx_id] = (_register(p["meterValue"]), None)
            else:
                sessions[tx_id] = (sessions[tx_id][0], _register(p["meterValue"]))
    return sessions


_START_FIELDS = ("transaction_id", "evse", "id_tag", "started_at", "meter_start_wh")
"""What a `started` recorded again after a crash repeats of the first."""


def assert_sessions_complete(
    rig: Rig, records: list[tuple[str, dict[str, Any]]], sessions: int | None = len(VERSIONS)
) -> None:
    """Every session the chargers metered has one `started` and one `ended` with its energy;
    `sessions`: how many there must be (None: any number, for tests that start several)."""
    events = transaction_events(records)
    expected: set[tuple[str, str]] = set()
    for sim in rig.fleet:
        cid = sim.config.charger_id
        for tx_id, (start, stop) in metered_sessions(sim).items():
            expected.add((cid, tx_id))
            assert stop is not None, f"{cid} {tx_id}: the charger never sent its stop"
            seen = events.get((cid, tx_id), [])
            # A crash between a start's two writes records `started` again at the restart
            # (drivers/ocpp/start_records.py): it may come twice, the same start; never none.
            starts = [e for e in seen if e["event"] == "started"]
            assert len({tuple(e.get(k) for k in _START_FIELDS) for e in starts}) <= 1, starts
            kinds = [e["event"] for e in seen if e["event"] != "started" or e is starts[0]]
            assert kinds == ["started", "ended"], f"{cid} {tx_id}: {kinds}"
            ended = [e for e in seen if e["event"] == "ended"][0]
            assert ended["energy_wh"] == pytest.approx(stop - start, abs=0.01), (cid, ended)
            assert stop - start > 0, f"{cid} {tx_id}: the EV did not charge"
    assert set(events) == expected, f"events for unknown sessions: {set(events) - expected}"
    assert sessions is None or len(expected) == sessions


async def charging(rig: Rig) -> None:
    """Every charger booted, an EV plugged in and authorised, its meter values on MQTT."""
    await rig.fleet.start()
    await rig.fleet.wait_booted(20)
    for sim in rig.fleet:
        session = await sim.plug_in(1, id_tag=f"TAG-{sim.config.charger_id}")
        assert session is not None
    await rig.collector.wait_for(
        lambda: all(
            len(rig.collector.on(f"/charger/{s.config.charger_id}/telemetry")) >= 3
            for s in rig.fleet
        ),
        timeout=20,
    )


async def stop_and_collect(rig: Rig) -> int:
    """SIGTERM the gateway (exit 0, outbox empty on disk); wait until the subscriber has the
    last seq it wrote; return that seq."""
    assert await rig.daemon.signal(signal.SIGTERM) == 0, rig.daemon.logs()[-3000:]
    closed = rig.daemon.closed_outbox()
    assert closed["depth"] == 0, closed
    last_seq = int(closed["last_seq"])
    await seq_arrived(rig.collector, last_seq)
    return last_seq


# -- the tests ----------------------------------------------------------------------------------


async def test_sigkill_mid_session_loses_nothing_and_repeats_nothing(rig: Rig) -> None:
    daemon, fleet, collector = rig.daemon, rig.fleet, rig.collector
    await daemon.start()
    await collector.wait_for(lambda: b"online" in availability(collector, rig.prefix), 20)
    await charging(rig)

    assert await daemon.signal(signal.SIGKILL) == -signal.SIGKILL
    for sim in fleet:
        await sim.wait_disconnected(10)
    # Offline, the chargers keep metering and queue their transaction messages; one session
    # even ends while the gateway is down (its Stop / Ended waits in the charger's queue).
    offline_sim = fleet["CP-2"]
    await asyncio.sleep(1.0)
    await offline_sim.stop_transaction(1, StopReason.LOCAL)
    assert len(offline_sim.queue) > 0
    await collector.wait_for(lambda: availability(collector, rig.prefix)[-1] == b"offline", 10)

    await daemon.start()  # same state_dir, same ports
    for sim in fleet:
        await sim.wait_booted(20)
        await sim.flush(20)
    await asyncio.sleep(0.5)  # a little more charging after the restart
    for sim in fleet:
        if sim.transaction_id(1) is not None:
            await sim.stop_transaction(1, StopReason.LOCAL)
        await sim.flush(20)
    await daemon.drained()
    last_seq = await stop_and_collect(rig)

    records = deduped(collector)
    assert_no_gap(records, last_seq)
    assert_sessions_complete(rig, records)
    ended_offline = [
        c.payload
        for c in offline_sim.sent
        if c.action == "TransactionEvent" and c.payload["eventType"] == "Ended"
    ]
    assert ended_offline and all(p.get("offline") for p in ended_offline)  # queued, then sent
    assert is_subsequence([b"online", b"offline", b"online"], availability(collector, rig.prefix))


async def test_broker_down_then_gateway_sigterm_delivers_the_backlog_in_order(
    rig: Rig, mosquitto: PrivateMosquitto
) -> None:
    daemon, fleet, collector = rig.daemon, rig.fleet, rig.collector
    await daemon.start()
    await collector.wait_for(lambda: b"online" in availability(collector, rig.prefix), 20)
    await charging(rig)

    await mosquitto.stop()
    outage_started = daemon.health()["outbox"]["last_seq"]
    await asyncio.sleep(1.0)  # telemetry of the outage piles up in the outbox
    for sim in fleet:
        await sim.stop_transaction(1, StopReason.LOCAL)
        await sim.flush(10)  # the gateway answered: the `ended` event is on its disk
    doc = daemon.health()
    assert doc["mqtt"]["connected"] is False
    assert doc["outbox"]["depth"] > 0
    outage_ended = doc["outbox"]["last_seq"]
    assert await daemon.signal(signal.SIGTERM) == 0, daemon.logs()[-3000:]
    backlog = daemon.closed_outbox()
    assert backlog["depth"] > 0 and backlog["last_seq"] >= outage_ended, backlog

    await mosquitto.start()  # same port, persistent sessions restored
    await daemon.start()
    await daemon.drained()
    last_seq = await stop_and_collect(rig)

    records = deduped(collector)
    assert_no_gap(records, last_seq)
    assert_sessions_complete(rig, records)
    # The outage's telemetry arrived too, for every charger.
    during = [
        (topic, body)
        for topic, body in records
        if outage_started < body["seq"] <= outage_ended and topic.endswith("/telemetry")
    ]
    for sim in fleet:
        cid = sim.config.charger_id
        assert any(f"/charger/{cid}/" in topic for topic, _ in during), cid
