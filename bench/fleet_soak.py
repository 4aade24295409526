"""A site's worth of chargers against the real daemon: CPU, memory, rates, latency, correctness.

N simulated charge points (1.6J, 2.0.1 and 2.1 in turn) run in this process and charge EVs for
the run: every charger plugs in, some sessions end and new EVs arrive. The gateway runs as its
own process (`python -m gateway run -c FILE`, JSON logs to a file) and publishes to a private
Mosquitto. Measured on the gateway process from /proc: CPU % and RSS; from its endpoints:
OCPP messages in (`/metrics`), records out (`outbox.last_seq` advance on `/healthz`), outbox
depth. Latency is taken at an external `mosquitto_sub` (its own process, stamping arrival
with `%U`), so neither the subscriber's CPU nor a busy load generator's event loop adds to
the figure: from the charger's meter-value timestamp (mapped from simulated to real time) to
arrival, for the chargers in `--latency-sample`, and from the gateway's `ts` to arrival for
every record.

Baseline in the same run: the same fleet, the same driver and duration against a bare
`ocpp`-library central system (1.6 / 2.0.1 / 2.1 handlers that answer and do nothing else,
this module's `--serve-baseline`): what validation and routing alone cost at that message rate.

At the end: every session stopped, charger queues flushed, the gateway SIGTERMed; then the
check a control centre would make: after dropping seqs already seen, seq runs 1..last with no
gap, every transaction `started` / `ended` the chargers sent (and got answered) arrived exactly
once, and the gateway closed with an empty outbox. Prints a table; asserts nothing.

    .venv/bin/python -m bench.fleet_soak [--chargers 200] [--duration 60] [--meter-interval 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import yaml

from bench.common import process_cpu_s
from gateway.demo.broker import PrivateMosquitto, free_port
from simulators.charger import ChargerConfig, ChargerFleet, ChargerSim, EvSpec, OcppVersion
from simulators.charger.dialect import StopReason
from simulators.charger.simclock import parse_timestamp

ROOT = Path(__file__).resolve().parents[1]
VERSIONS = (OcppVersion.V16, OcppVersion.V201, OcppVersion.V21)
SITE = "soak"
PREFIX = f"pilebridge/{SITE}"


# -- the baseline central system (own process) ------------------------------------------------


async def serve_baseline(port: int) -> None:
    """Bare `ocpp` library: schema validation and routing, handlers that only answer.

    Handlers are named `on_*`: a handler called `start` would replace `ChargePoint.start`.
    """
    from ocpp.routing import on
    from ocpp.v16 import ChargePoint as Cp16
    from ocpp.v16 import call_result as r16
    from ocpp.v21 import ChargePoint as Cp21
    from ocpp.v21 import call_result as r21
    from ocpp.v201 import ChargePoint as Cp201
    from ocpp.v201 import call_result as r201
    from websockets.asyncio.server import ServerConnection, serve
    from websockets.exceptions import ConnectionClosed

    now = "2026-01-01T00:00:00Z"
    ids = iter(range(1, 10**9))
    accepted = {"status": "Accepted"}

    class Bare16(Cp16):  # type: ignore[misc]
        @on("BootNotification")
        def on_boot(self, **_: Any) -> Any:
            return r16.BootNotification(current_time=now, interval=300, status="Accepted")

        @on("Heartbeat")
        def on_heartbeat(self, **_: Any) -> Any:
            return r16.Heartbeat(current_time=now)

        @on("StatusNotification")
        def on_status(self, **_: Any) -> Any:
            return r16.StatusNotification()

        @on("Authorize")
        def on_authorize(self, **_: Any) -> Any:
            return r16.Authorize(id_tag_info=accepted)

        @on("StartTransaction")
        def on_start(self, **_: Any) -> Any:
            return r16.StartTransaction(transaction_id=next(ids), id_tag_info=accepted)

        @on("StopTransaction")
        def on_stop(self, **_: Any) -> Any:
            return r16.StopTransaction(id_tag_info=accepted)

        @on("MeterValues")
        def on_meter(self, **_: Any) -> Any:
            return r16.MeterValues()

    def v2(base: type, r: Any) -> type:
        class Bare2(base):  # type: ignore[misc]
            @on("BootNotification")
            def on_boot(self, **_: Any) -> Any:
                return r.BootNotification(current_time=now, interval=300, status="Accepted")

            @on("Heartbeat")
            def on_heartbeat(self, **_: Any) -> Any:
                return r.Heartbeat(current_time=now)

            @on("StatusNotification")
            def on_status(self, **_: Any) -> Any:
                return r.StatusNotification()

            @on("Authorize")
            def on_authorize(self, **_: Any) -> Any:
                return r.Authorize(id_token_info=accepted)

            @on("TransactionEvent")
            def on_transaction(self, **_: Any) -> Any:
                return r.TransactionEvent()

            @on("MeterValues")
            def on_meter(self, **_: Any) -> Any:
                return r.MeterValues()

        return Bare2

    classes = {"ocpp1.6": Bare16, "ocpp2.0.1": v2(Cp201, r201), "ocpp2.1": v2(Cp21, r21)}

    async def handler(ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else "/cp"
        cp = classes[ws.subprotocol or "ocpp1.6"](path.rstrip("/").split("/")[-1], ws)
        with contextlib.suppress(ConnectionClosed):
            await cp.start()

    async with serve(handler, "127.0.0.1", port, subprotocols=list(classes)):  # type: ignore[arg-type]
        print("ready", flush=True)
        await asyncio.Future()


# -- the process under test -----------------------------------------------------------------


def _get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.read()  # type: ignore[no-any-return]


async def health(port: int) -> dict[str, Any]:
    return json.loads(await asyncio.to_thread(_get, port, "/healthz"))  # type: ignore[no-any-return]


_METRIC = re.compile(r"^(\w+)(\{[^}]*\})? ([-+\d.eE]+|NaN)$")


async def metrics(port: int) -> dict[str, float]:
    text = (await asyncio.to_thread(_get, port, "/metrics")).decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = _METRIC.match(line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def spawn(args: list[str], log: Path | None = None) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if log is None:
        return await asyncio.create_subprocess_exec(
            sys.executable, *args, cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
    with open(log, "ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, *args, cwd=ROOT, env=env, stdout=out, stderr=out
        )


class Tap:
    """`mosquitto_sub` on P/# in its own process, each message stamped with its arrival time."""

    def __init__(self, broker: PrivateMosquitto, path: Path) -> None:
        self.broker, self.path = broker, path
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        out = open(self.path, "wb")  # noqa: SIM115  (the child owns it from here)
        self.proc = await asyncio.create_subprocess_exec(
            "mosquitto_sub", "-h", self.broker.host, "-p", str(self.broker.port),
            "-t", f"{PREFIX}/#", "-q", "1", "-V", "5", "-c", "-i", "soak-tap",
            "-F", "%U\t%t\t%p", stdout=out,
        )  # fmt: skip
        out.close()
        async with asyncio.timeout(10):  # subscribed once a probe comes back
            while b"/probe\t" not in self.path.read_bytes():
                async with aiomqtt.Client(self.broker.host, self.broker.port) as client:
                    await client.publish(f"{PREFIX}/probe", b"{}", qos=1)
                await asyncio.sleep(0.2)

    def lines(self) -> list[tuple[float, str, bytes]]:
        out = []
        for raw in self.path.read_bytes().splitlines():
            stamp, topic, payload = raw.split(b"\t", 2)
            out.append((float(stamp), topic.decode(), payload))
        return out

    def has_seq(self, seq: int) -> bool:
        return f'{{"seq":{seq},'.encode() in self.path.read_bytes()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


# -- the fleet and what drives it -------------------------------------------------------------


@dataclass
class Load:
    chargers: int
    duration_s: float
    meter_interval_s: float  # real seconds between two meter values of a session
    time_scale: float
    seed: int

    def fleet(self, url: str) -> ChargerFleet:
        template = dict(
            url=url, max_power_w=22_000, meter_interval_s=self.meter_interval_s * self.time_scale,
            time_scale=self.time_scale, backoff_initial_s=0.5, backoff_max_s=5,
            record_limit=1_000_000,
        )  # fmt: skip
        configs = [
            ChargerConfig(f"CP-{i}", ocpp_version=VERSIONS[(i - 1) % 3], **template)  # type: ignore[arg-type]
            for i in range(1, self.chargers + 1)
        ]
        return ChargerFleet(configs, stagger_s=min(0.02, 4.0 / self.chargers), seed=self.seed)


async def drive(sim: ChargerSim, rng: random.Random, load: Load, until: float) -> None:
    """EVs arrive, charge for a while, leave; the next one comes a few seconds later."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(rng.uniform(0, min(3.0, load.meter_interval_s)))
    n = 0
    while loop.time() < until:
        n += 1
        ev = EvSpec(
            capacity_kwh=rng.choice((40, 60, 80)),
            initial_soc_pct=rng.uniform(10, 50),
            max_charge_w=rng.choice((7_400, 11_000, 22_000)),
        )
        await sim.plug_in(1, ev=ev, id_tag=f"{sim.config.charger_id}-{n}")
        stay = rng.uniform(0.3, 1.2) * load.duration_s
        if loop.time() + stay >= until:
            return  # still charging at the end of the run
        await asyncio.sleep(stay)
        await sim.stop_transaction(1, StopReason.LOCAL)
        await sim.unplug(1)
        await asyncio.sleep(rng.uniform(1, 4))


def sent_count(fleet: ChargerFleet) -> int:
    return sum(len(sim.recorder.sent) for sim in fleet)


@dataclass
class Run:
    """What one central system did under the load, sampled once a second."""

    name: str
    window_s: float = 0.0
    cpu_s: float = 0.0
    cpu_pct: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    messages_in: int = 0
    bench_cpu_s: float = 0.0
    records_out: int = 0
    depth_max: int = 0
    drain_s: float = 0.0

    @property
    def msg_rate(self) -> float:
        return self.messages_in / self.window_s

    @property
    def cpu_mean(self) -> float:
        return 100 * self.cpu_s / self.window_s


async def run_load(
    name: str, load: Load, url: str, pid: int, http_port: int | None
) -> tuple[Run, ChargerFleet]:
    """Boot the fleet, drive it for the duration, sample the server process meanwhile."""
    run = Run(name)
    fleet = load.fleet(url)
    await fleet.start()
    await fleet.wait_booted(60 + load.chargers * 0.05)
    loop = asyncio.get_running_loop()
    until = loop.time() + load.duration_s
    rng = random.Random(load.seed)
    drivers = [
        asyncio.create_task(drive(s, random.Random(rng.random()), load, until)) for s in fleet
    ]
    seq0 = (await health(http_port))["outbox"]["last_seq"] if http_port else 0
    t0, cpu0, bench0, sent0 = (
        time.perf_counter(),
        process_cpu_s(pid),
        time.process_time(),
        sent_count(fleet),
    )
    last_t, last_cpu = t0, cpu0
    while loop.time() < until:
        await asyncio.sleep(min(1.0, max(0.0, until - loop.time())))
        t, cpu = time.perf_counter(), process_cpu_s(pid)
        if t - last_t > 0.2:
            run.cpu_pct.append(100 * (cpu - last_cpu) / (t - last_t))
        last_t, last_cpu = t, cpu
        run.rss_mb.append(rss_mb(pid))
        if http_port:
            m = await metrics(http_port)
            run.depth_max = max(run.depth_max, int(m.get("pilebridge_outbox_depth", 0)))
    run.window_s = time.perf_counter() - t0
    run.cpu_s = process_cpu_s(pid) - cpu0
    run.bench_cpu_s = time.process_time() - bench0
    run.messages_in = sent_count(fleet) - sent0
    if http_port:
        run.records_out = (await health(http_port))["outbox"]["last_seq"] - seq0
    for task in drivers:
        task.cancel()
    await asyncio.gather(*drivers, return_exceptions=True)
    return run, fleet


async def finish_sessions(fleet: ChargerFleet) -> None:
    """Stop every running session and wait until the chargers' queues are delivered."""
    for sim in fleet:
        for evse in sim.evses:
            if sim.evses[evse].session is not None:
                await sim.stop_transaction(evse, StopReason.LOCAL)
    await asyncio.gather(*(sim.flush(120) for sim in fleet))


# -- analysis ---------------------------------------------------------------------------------


def expected_transactions(fleet: ChargerFleet) -> set[tuple[str, str, str]]:
    """(charger, transaction id, started|ended) for every Start/Stop the central system
    answered, as the chargers recorded them."""
    out: set[tuple[str, str, str]] = set()
    for sim in fleet:
        cid = sim.config.charger_id
        for call in sim.recorder.sent:
            if call.response is None:
                continue
            p = call.payload
            if call.action == "StartTransaction":
                out.add((cid, str(call.response["transactionId"]), "started"))
            elif call.action == "StopTransaction":
                out.add((cid, str(p["transactionId"]), "ended"))
            elif call.action == "TransactionEvent" and p["eventType"] in ("Started", "Ended"):
                kind = "started" if p["eventType"] == "Started" else "ended"
                out.add((cid, p["transactionInfo"]["transactionId"], kind))
    return out


def meter_samples(sim: ChargerSim) -> dict[float, float]:
    """Energy register -> real epoch time the charger took the sample (unambiguous ones)."""
    scale = sim.config.time_scale
    epoch0 = sim.clock.now() - sim.clock.elapsed()  # the real time the sim clock started at
    seen: Counter[float] = Counter()
    taken: dict[float, float] = {}
    for call in sim.recorder.sent:
        p = call.payload
        values = p.get("meterValue") or p.get("transactionData") or []
        for mv in values:
            for sv in mv["sampledValue"]:
                if sv.get("measurand") == "Energy.Active.Import.Register":
                    energy = round(float(sv["value"]), 1)
                    seen[energy] += 1
                    sim_t = parse_timestamp(mv["timestamp"])
                    taken[energy] = epoch0 + (sim_t - epoch0) / scale
    return {e: t for e, t in taken.items() if seen[e] == 1}


@dataclass
class Check:
    records: int = 0
    duplicates: int = 0
    gaps: int = 0
    last_seq: int = 0
    tx_expected: int = 0
    tx_missing: int = 0
    tx_extra: int = 0
    tx_repeated: int = 0
    outbox_depth_at_close: int = -1
    latency_sample_ms: list[float] = field(default_factory=list)
    latency_gateway_ms: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.gaps == 0
            and self.tx_missing == 0
            and self.tx_extra == 0
            and self.tx_repeated == 0
            and self.outbox_depth_at_close == 0
        )


def analyse(
    lines: list[tuple[float, str, bytes]], fleet: ChargerFleet, sampled: set[str], last_seq: int
) -> Check:
    check = Check(last_seq=last_seq)
    highest = 0
    kept: list[int] = []
    events: Counter[tuple[str, str, str]] = Counter()
    samples = {
        sim.config.charger_id: meter_samples(sim)
        for sim in fleet
        if sim.config.charger_id in sampled
    }
    for arrived, topic, payload in lines:
        if not payload.startswith(b'{"seq":'):
            continue
        body = json.loads(payload)
        seq = body["seq"]
        if seq <= highest:
            check.duplicates += 1
            continue
        highest = seq
        kept.append(seq)
        check.latency_gateway_ms.append((arrived - parse_timestamp(body["ts"])) * 1000)
        parts = topic.split("/")
        if len(parts) >= 5 and parts[2] == "charger":
            cid = parts[3]
            if parts[4] == "transaction" and body["event"] in ("started", "ended"):
                events[(cid, body["transaction_id"], body["event"])] += 1
            elif parts[4] == "telemetry" and cid in samples and "energy_wh" in body:
                taken = samples[cid].get(round(body["energy_wh"], 1))
                if taken is not None:
                    check.latency_sample_ms.append((arrived - taken) * 1000)
    check.records = len(kept)
    check.gaps = len(set(range(1, last_seq + 1)) - set(kept))
    expected = expected_transactions(fleet)
    check.tx_expected = len(expected)
    check.tx_missing = len(expected - set(events))
    check.tx_extra = len(set(events) - expected)
    check.tx_repeated = sum(1 for n in events.values() if n > 1)
    return check


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- the two runs ------------------------------------------------------------------------------


async def baseline(load: Load) -> Run:
    port = free_port()
    proc = await spawn(["-m", "bench.fleet_soak", "--serve-baseline", str(port)])
    assert proc.stdout is not None
    await asyncio.wait_for(proc.stdout.readline(), 30)
    try:
        run, fleet = await run_load(
            "baseline: bare ocpp library, answers only",
            load,
            f"ws://127.0.0.1:{port}",
            proc.pid,
            None,
        )
        run.rss_mb.append(rss_mb(proc.pid))
        await fleet.stop()
    finally:
        proc.terminate()
        await proc.wait()
    return run


async def gateway(
    load: Load, broker: PrivateMosquitto, workdir: Path, sample: float
) -> tuple[Run, Check]:
    ocpp_port, http_port = free_port(), free_port()
    config = {
        "site": {"id": SITE},
        "state_dir": str(workdir / "state"),
        "http": {"host": "127.0.0.1", "port": http_port},
        "mqtt": {"host": broker.host, "port": broker.port, "reconnect_min_s": 0.1,
                 "reconnect_max_s": 1.0},
        "ocpp": {"host": "127.0.0.1", "port": ocpp_port, "allow_unknown_chargers": True,
                 "authorize": {"accept_all": True}},
        "logging": {"level": "info", "format": "json"},
    }  # fmt: skip
    path = workdir / "pilebridge.yaml"
    path.write_text(yaml.safe_dump(config))
    log = workdir / "gateway.log"
    tap = Tap(broker, workdir / "mqtt.tsv")
    await tap.start()  # before the gateway, so it sees seq 1
    proc = await spawn(["-m", "gateway", "run", "-c", str(path)], log)
    try:
        async with asyncio.timeout(30):
            while True:
                with contextlib.suppress(OSError):
                    await health(http_port)
                    break
                await asyncio.sleep(0.1)
        run, fleet = await run_load(
            "PileBridge: gateway process, outbox, MQTT", load,
            f"ws://127.0.0.1:{ocpp_port}/ocpp", proc.pid, http_port,
        )  # fmt: skip
        t0 = time.perf_counter()
        await finish_sessions(fleet)
        async with asyncio.timeout(120):
            while (await health(http_port))["outbox"]["depth"] > 0:
                await asyncio.sleep(0.2)
        run.drain_s = time.perf_counter() - t0
        await fleet.stop()
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 60)
        closed = [
            json.loads(line)
            for line in log.read_text().splitlines()
            if line.startswith("{") and '"outbox_closed"' in line
        ][-1]
        async with asyncio.timeout(60):
            while not tap.has_seq(closed["last_seq"]):
                await asyncio.sleep(0.2)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await tap.stop()
    sampled = {
        s.config.charger_id for i, s in enumerate(fleet) if i % max(1, round(1 / sample)) == 0
    }
    check = analyse(tap.lines(), fleet, sampled, closed["last_seq"])
    check.outbox_depth_at_close = closed["depth"]
    levels = Counter(
        json.loads(line).get("level")
        for line in log.read_text().splitlines()
        if line.startswith("{")
    )
    print(f"gateway log: {log} ({log.stat().st_size / 1e6:.1f} MB; {dict(levels)})")
    return run, check


async def main(load: Load, sample: float, with_baseline: bool) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="pb-soak-"))
    broker = PrivateMosquitto(persistence=False)
    await broker.start()
    try:
        runs = [await baseline(load)] if with_baseline else []
        gw, check = await gateway(load, broker, workdir, sample)
        runs.append(gw)
    finally:
        await broker.stop()
        broker.cleanup()
    mix = "/".join(v.value for v in VERSIONS)
    print(
        f"\n{load.chargers} chargers ({mix} in turn), {load.duration_s:.0f} s of charging, a meter "
        f"value every {load.meter_interval_s:g} s per session, time_scale {load.time_scale:g}"
    )
    print(
        f"{'central system':44} {'msg/s in':>9} {'CPU %':>6} {'CPU % p95':>9} "
        f"{'CPU µs/msg':>10} {'RSS MB':>7} {'load-gen CPU %':>14}"
    )
    base = runs[0]
    for r in runs:
        print(
            f"{r.name:44} {r.msg_rate:9.0f} {r.cpu_mean:6.1f} {pct(r.cpu_pct, 0.95):9.1f} "
            f"{r.cpu_s / max(1, r.messages_in) * 1e6:10.0f} {max(r.rss_mb):7.0f} "
            f"{100 * r.bench_cpu_s / r.window_s:14.1f}"
        )
    if with_baseline:
        ratio = (gw.cpu_s / gw.messages_in) / (base.cpu_s / base.messages_in)
        print(f"PileBridge CPU per message vs bare ocpp library: {ratio:.2f}x")
    print(
        f"records out {gw.records_out / gw.window_s:.0f}/s (outbox seq advance), outbox depth max "
        f"{gw.depth_max}, drain after the run {gw.drain_s:.1f} s"
    )
    lat_s, lat_g = check.latency_sample_ms, check.latency_gateway_ms
    print(
        f"latency charger meter value -> mosquitto_sub ({len(lat_s)} samples): p50 "
        f"{pct(lat_s, 0.5):.1f} ms, p95 {pct(lat_s, 0.95):.1f} ms, p99 {pct(lat_s, 0.99):.1f} ms, "
        f"max {max(lat_s, default=float('nan')):.1f} ms"
    )
    print(
        f"latency gateway ts -> mosquitto_sub ({len(lat_g)} records): p50 {pct(lat_g, 0.5):.1f} ms, "
        f"p95 {pct(lat_g, 0.95):.1f} ms, p99 {pct(lat_g, 0.99):.1f} ms, "
        f"mean {statistics.fmean(lat_g) if lat_g else float('nan'):.1f} ms"
    )
    print(
        f"correctness: {'OK' if check.ok else 'FAILED'}: seq 1..{check.last_seq}, "
        f"{check.records} records, {check.gaps} gaps, {check.duplicates} redeliveries dropped; "
        f"{check.tx_expected} started/ended events sent by chargers, {check.tx_missing} missing, "
        f"{check.tx_repeated} repeated, {check.tx_extra} unexpected; outbox at close "
        f"{check.outbox_depth_at_close}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chargers", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of charging")
    parser.add_argument("--meter-interval", type=float, default=2.0, help="real seconds")
    parser.add_argument("--time-scale", type=float, default=30.0)
    parser.add_argument("--latency-sample", type=float, default=0.1, help="fraction of chargers")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.serve_baseline:
        asyncio.run(serve_baseline(ns.serve_baseline))
    else:
        import logging

        import structlog

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
        load = Load(ns.chargers, ns.duration, ns.meter_interval, ns.time_scale, ns.seed)
        asyncio.run(main(load, ns.latency_sample, not ns.no_baseline))
