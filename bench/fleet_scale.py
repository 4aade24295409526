"""Site scale: the daemon under the systemd unit's own limits with 1,000 to 5,000 chargers.

For each fleet size the gateway runs as its own process, started through `prlimit` with the
open-file limit the shipped unit sets (`LimitNOFILE` in systemd/pilebridge.service), shipped
defaults otherwise (info logs as JSON lines to a file, outbox `synchronous=full`), publishing
to a private Mosquitto. Chargers are light load-generator connections (no EV physics) in
`--workers` processes of their own, so the gateway keeps a core; half speak OCPP 1.6 (a
transaction open, MeterValues with the transaction id), half 2.0.1 (TransactionEvent Updated
with meter values), every `--meter-interval` seconds each, and they accept every command.
Like many chargers they offer permessage-deflate; the gateway decides whether it is used.

Measured on the gateway process (from /proc, not wall time): CPU over the steady window
(% of one core and per charger message), RSS once all chargers are connected and at the end.
From outside, as a control centre sees it: the round trip of `limit` commands published over
MQTT to random chargers (publish -> `.../cmd/limit/result` received, p50/p99), sent one
after another during the steady window; and the settle time of a reconnect storm: every
charger's TCP connection is cut at once and reconnects at once, until the gateway counts all
of them connected and every charger has booted again. Each run is bounded in time.

    .venv/bin/python -m bench.fleet_scale [--chargers 1000,2000,5000] [--duration 30] [--repeat 3]

The machine may be shared: run it at a higher priority than other work (as root,
`nice -n -10 .venv/bin/python -m bench.fleet_scale ...`; the gateway, broker and load
generators inherit it) and repeat runs; the priority and load average are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import aiomqtt
import yaml

from bench.common import process_cpu_s
from gateway.demo.broker import PrivateMosquitto, free_port

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "systemd" / "pilebridge.service"
SITE = "scale"
TS = "2026-03-01T08:00:00Z"


def unit_nofile() -> int:
    """LimitNOFILE= of the shipped unit (the soft and hard limit the daemon runs with)."""
    match = re.search(r"^LimitNOFILE=(\d+)$", UNIT.read_text(), re.M)
    if match is None:
        raise SystemExit("the unit sets no LimitNOFILE")
    return int(match.group(1))


# -- the load generator (own processes) ---------------------------------------------------------


def _meter(i: int, v2: bool) -> list[dict[str, Any]]:
    def value(x: float) -> Any:
        return x if v2 else str(x)

    energy = {"value": value(15000 + 10 * i), "measurand": "Energy.Active.Import.Register"}
    values: list[dict[str, Any]] = [
        energy,
        {"value": value(11000), "measurand": "Power.Active.Import"},
    ]
    for phase in ("L1", "L2", "L3"):
        values.append({"value": value(16.0), "measurand": "Current.Import", "phase": phase})
    return [{"timestamp": TS, "sampledValue": values}]


class LightCharger:
    """One connection: boot, open a transaction, meter values, answer every command."""

    def __init__(self, url: str, cid: str, v2: bool, interval_s: float) -> None:
        self.url, self.cid, self.v2, self.interval_s = url, cid, v2, interval_s
        self.booted = asyncio.Event()
        self.sent = 0
        self.ws: Any = None
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._n = 0

    async def run(self, stop: asyncio.Event) -> None:
        from websockets.asyncio.client import connect

        sub = "ocpp2.0.1" if self.v2 else "ocpp1.6"
        while not stop.is_set():
            try:
                async with connect(
                    f"{self.url}/{self.cid}", subprotocols=[sub], ping_interval=None,  # type: ignore[list-item]
                    open_timeout=60, max_queue=4,  # offers permessage-deflate, as websockets-based chargers do
                ) as ws:  # fmt: skip
                    self.ws = ws
                    tasks = {
                        asyncio.create_task(self._read(ws)),
                        asyncio.create_task(self._session(stop)),
                    }
                    try:
                        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        for task in tasks:
                            task.cancel()
                        await asyncio.gather(*tasks, return_exceptions=True)
            except Exception:  # refused, reset, a handshake cut short: dial again, as chargers do
                pass
            self.booted.clear()
            for fut in self._pending.values():
                fut.cancel()
            self._pending.clear()
            if not stop.is_set():
                await asyncio.sleep(random.uniform(0.0, 0.5))

    async def _read(self, ws: Any) -> None:
        async for frame in ws:
            msg = json.loads(frame)
            if msg[0] == 2:  # a command: accept it
                await ws.send(json.dumps([3, msg[1], {"status": "Accepted"}]))
            elif msg[0] in (3, 4):
                fut = self._pending.pop(msg[1], None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)

    async def call(self, action: str, payload: dict[str, Any]) -> Any:
        self._n += 1
        uid = f"{self._n}"
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[uid] = fut
        await self.ws.send(json.dumps([2, uid, action, payload]))
        self.sent += 1
        return await asyncio.wait_for(fut, 30)

    async def _session(self, stop: asyncio.Event) -> None:
        tx: Any = f"TX-{self.cid}"
        if self.v2:
            await self.call("BootNotification", {"reason": "PowerUp",
                            "chargingStation": {"model": "L", "vendorName": "Bench"}})  # fmt: skip
            await self.call("TransactionEvent", {
                "eventType": "Started", "timestamp": TS, "triggerReason": "Authorized",
                "seqNo": 0, "transactionInfo": {"transactionId": tx},
                "evse": {"id": 1, "connectorId": 1},
                "idToken": {"idToken": self.cid, "type": "ISO14443"}})  # fmt: skip
        else:
            await self.call(
                "BootNotification", {"chargePointVendor": "Bench", "chargePointModel": "L"}
            )
            reply = await self.call("StartTransaction", {
                "connectorId": 1, "idTag": self.cid, "meterStart": 15000, "timestamp": TS})  # fmt: skip
            tx = reply[2].get("transactionId", 1) if reply[0] == 3 else 1
        self.booted.set()
        await asyncio.sleep(random.uniform(0, self.interval_s))
        i = 0
        while not stop.is_set():
            i += 1
            if self.v2:
                await self.call("TransactionEvent", {
                    "eventType": "Updated", "timestamp": TS, "triggerReason": "MeterValuePeriodic",
                    "seqNo": i, "transactionInfo": {"transactionId": tx},
                    "meterValue": _meter(i, True)})  # fmt: skip
            else:
                await self.call("MeterValues", {"connectorId": 1, "transactionId": tx,
                                                "meterValue": _meter(i, False)})  # fmt: skip
            await asyncio.sleep(self.interval_s)


async def worker(url: str, first: int, count: int, interval_s: float) -> None:
    """Commands on stdin: `storm` cuts every connection; `count` prints messages sent."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count + 256)), hard))
    stop = asyncio.Event()
    chargers = [
        LightCharger(url, f"CP-{i}", i % 2 == 1, interval_s) for i in range(first, first + count)
    ]
    tasks = []
    for k, c in enumerate(chargers):
        tasks.append(asyncio.create_task(c.run(stop)))
        if k % 50 == 49:
            await asyncio.sleep(0.05)  # a site's chargers do not all dial the same millisecond
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def all_booted() -> None:
        await asyncio.gather(*(c.booted.wait() for c in chargers))
        print("booted", flush=True)

    booted = asyncio.create_task(all_booted())
    while line := (await reader.readline()).decode().strip():
        if line == "count":
            print(f"sent {sum(c.sent for c in chargers)}", flush=True)
        elif line == "storm":
            await booted
            for c in chargers:
                c.booted.clear()
                if c.ws is not None:
                    c.ws.transport.abort()  # as a network outage would: no closing handshake
            booted = asyncio.create_task(all_booted())
    stop.set()
    for t in tasks:
        t.cancel()


# -- the measuring side -------------------------------------------------------------------------


def _get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.read()  # type: ignore[no-any-return]


async def gc_pauses(port: int) -> dict[str, float]:
    """Collections of each generation, and those longer than 20 ms, from /metrics."""
    text = (await asyncio.to_thread(_get, port, "/metrics")).decode()
    out: dict[str, float] = {}
    for g in "012":
        count = re.search(
            rf'^pilebridge_gc_pause_seconds_count{{generation="{g}"}} (\S+)$', text, re.M
        )
        fast = re.search(
            rf'^pilebridge_gc_pause_seconds_bucket{{generation="{g}",le="0.02"}} (\S+)$', text, re.M
        )
        total = float(count.group(1)) if count else 0.0
        out[f"gen{g}"] = total
        out[f"gen{g}_over_20ms"] = total - (float(fast.group(1)) if fast else total)
    lag_count = re.search(r"^pilebridge_event_loop_lag_seconds_count (\S+)$", text, re.M)
    for le in ("0.02", "0.1"):
        within = re.search(
            rf'^pilebridge_event_loop_lag_seconds_bucket{{le="{le}"}} (\S+)$', text, re.M
        )
        if lag_count and within:
            out[f"lag_over_{le}"] = float(lag_count.group(1)) - float(within.group(1))
    return out


async def connected(port: int) -> int:
    text = (await asyncio.to_thread(_get, port, "/metrics")).decode()
    match = re.search(r"^pilebridge_ocpp_chargers_connected\S* ([\d.e+]+)$", text, re.M)
    return int(float(match.group(1))) if match else 0


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Workers:
    def __init__(self, procs: list[asyncio.subprocess.Process]) -> None:
        self.procs = procs

    @classmethod
    async def start(cls, url: str, chargers: int, n: int, interval_s: float) -> Workers:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        procs = []
        per = -(-chargers // n)
        for w in range(n):
            first, count = w * per, min(per, chargers - w * per)
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.fleet_scale", "--worker", url, str(first), str(count),
                str(interval_s), cwd=ROOT, env=env, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            ))  # fmt: skip
        return cls(procs)

    async def tell(self, line: str) -> None:
        for p in self.procs:
            assert p.stdin is not None
            p.stdin.write(f"{line}\n".encode())
            await p.stdin.drain()

    async def expect(self, word: str, timeout_s: float) -> list[str]:
        async def one(p: asyncio.subprocess.Process) -> str:
            assert p.stdout is not None
            while True:
                line = (await p.stdout.readline()).decode().strip()
                if not line:
                    raise RuntimeError("a load generator exited")
                if line.startswith(word):
                    return line

        return await asyncio.wait_for(asyncio.gather(*(one(p) for p in self.procs)), timeout_s)

    async def sent(self) -> int:
        await self.tell("count")
        return sum(int(line.split()[1]) for line in await self.expect("sent", 60))

    async def stop(self) -> None:
        for p in self.procs:
            if p.stdin is not None:
                p.stdin.close()
        for p in self.procs:
            try:
                await asyncio.wait_for(p.wait(), 20)
            except TimeoutError:
                p.kill()
                await p.wait()


async def command_round_trips(
    broker: PrivateMosquitto, chargers: int, count: int, gap_s: float
) -> tuple[list[float], list[float]]:
    """`limit` commands to random chargers, one after another: ms from publish to result.

    Between two commands, an echo through the broker alone (publish, receive it back): the
    round trip this machine gives any two processes right now, without the gateway.
    """
    prefix = f"pilebridge/{SITE}/charger"
    echo_topic = f"bench/{uuid.uuid4().hex[:8]}/echo"
    rtts: list[float] = []
    echoes: list[float] = []
    async with aiomqtt.Client(broker.host, broker.port, protocol=aiomqtt.ProtocolVersion.V5) as c:
        await c.subscribe(f"{prefix}/+/cmd/limit/result", qos=1)
        await c.subscribe(echo_topic, qos=1)
        waiting: dict[str, asyncio.Future[float]] = {}

        async def results() -> None:
            async for message in c.messages:
                body = json.loads(message.payload)  # type: ignore[arg-type]
                fut = waiting.pop(str(body.get("id")), None)
                if fut is not None and not fut.done():
                    fut.set_result(time.perf_counter())

        async def round_trip(topic: str, body: dict[str, Any]) -> float | None:
            fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            waiting[body["id"]] = fut
            sent = time.perf_counter()
            await c.publish(topic, json.dumps(body), qos=1)
            try:
                return (await asyncio.wait_for(fut, 30) - sent) * 1000
            except TimeoutError:
                return None

        reader = asyncio.create_task(results())
        try:
            for n in range(count):
                cid = f"CP-{random.randrange(chargers)}"
                body = {"id": uuid.uuid4().hex[:12], "power_w": 7000 + (n % 10) * 100, "ttl_s": 600}
                rtt = await round_trip(f"{prefix}/{cid}/cmd/limit", body)
                if rtt is not None:
                    rtts.append(rtt)
                await asyncio.sleep(gap_s / 2)
                echo = await round_trip(echo_topic, {"id": uuid.uuid4().hex[:12]})
                if echo is not None:
                    echoes.append(echo)
                await asyncio.sleep(gap_s / 2)
        finally:
            reader.cancel()
    return rtts, echoes


def log_figures(path: Path) -> tuple[float, int]:
    """Size of the gateway's log (MB) and its error lines or tracebacks."""
    errors = 0
    with open(path, errors="replace") as f:
        for line in f:
            errors += '"level": "error"' in line or line.startswith("Traceback")
    return path.stat().st_size / 1e6, errors


def inside_gateway_ms(log_text: str) -> list[float]:
    """Per command, from the gateway's own log: `command_received` -> `command_result` (the
    charger's answer included, the MQTT hops to and from the control centre not)."""
    received: dict[str, float] = {}
    out: list[float] = []
    for line in log_text.splitlines():
        if '"command_' not in line or not line.startswith("{"):
            continue
        entry = json.loads(line)
        rid, event = entry.get("request_id"), entry.get("event")
        stamp = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp()
        if event == "command_received":
            received[rid] = stamp
        elif event == "command_result" and rid in received:
            out.append((stamp - received.pop(rid)) * 1000)
    return out


def progress(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


async def start_profile(
    ns: argparse.Namespace, pid: int, state: Path
) -> asyncio.subprocess.Process | None:
    """py-spy on the gateway for the steady window (`--profile`), raw stacks in the state dir."""
    if not ns.profile:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return await asyncio.create_subprocess_exec(
        spy, "record", "-p", str(pid), "-d", str(int(ns.duration)), "-r", "100", "-f", "raw",
        "--nonblocking", "-o", str(state / "steady.pyspy"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


def spread(p50: float, p99: float) -> str:
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def one_size(
    ns: argparse.Namespace, chargers: int, broker: PrivateMosquitto
) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="pb-scale-"))
    ocpp_port, http_port = free_port(), free_port()
    config = {
        "site": {"id": SITE},
        "state_dir": str(state),
        "http": {"host": "127.0.0.1", "port": http_port},
        "mqtt": {"host": broker.host, "port": broker.port},
        "ocpp": {"host": "127.0.0.1", "port": ocpp_port, "allow_unknown_chargers": True,
                 "authorize": {"accept_all": True}},
        "logging": {"format": "json"},
    }  # fmt: skip
    path = state / "pilebridge.yaml"
    path.write_text(yaml.safe_dump(config))
    # The unit's limit, unless this machine's hard limit is lower (a container may cap it).
    wanted = ns.nofile or unit_nofile()
    nofile = min(wanted, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    log = open(state / "gateway.log", "wb")  # noqa: SIM115  (the child writes it)
    proc = await asyncio.create_subprocess_exec(
        "prlimit", f"--nofile={nofile}:{nofile}", sys.executable, "-m", "gateway", "run",
        "-c", str(path), cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=log, stderr=log,
    )  # fmt: skip
    log.close()
    out: dict[str, Any] = {"chargers": chargers, "nofile": nofile, "unit_nofile": wanted}
    workers: Workers | None = None
    try:
        async with asyncio.timeout(60):
            while True:
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(_get, http_port, "/healthz")
                    break
                await asyncio.sleep(0.1)
        out["rss_idle_mb"] = rss_mb(proc.pid)
        url = f"ws://127.0.0.1:{ocpp_port}/ocpp"
        t0 = time.perf_counter()
        workers = await Workers.start(url, chargers, ns.workers, ns.meter_interval)
        try:
            await workers.expect("booted", 120 + chargers * 0.05)
        except TimeoutError:
            try:
                count = str(await asyncio.wait_for(connected(http_port), 10))
            except (OSError, TimeoutError):
                count = "? (the gateway does not answer /metrics)"
            out["failed"] = f"only {count} of {chargers} chargers connected"
            out["log_mb"], out["log_errors"] = log_figures(state / "gateway.log")
            return out
        out["connect_s"] = time.perf_counter() - t0
        progress(f"{chargers} chargers booted in {out['connect_s']:.1f} s")
        await asyncio.sleep(min(10.0, ns.meter_interval))  # chargers into their rhythm
        out["rss_connected_mb"] = rss_mb(proc.pid)
        gc0 = await gc_pauses(http_port)
        profiler = await start_profile(ns, proc.pid, state)
        sent0, cpu0, w0 = await workers.sent(), process_cpu_s(proc.pid), time.perf_counter()
        progress("steady window")
        rtts, echoes = await command_round_trips(
            broker, chargers, ns.commands, max(0.0, ns.duration / ns.commands - 0.005)
        )
        remaining = ns.duration - (time.perf_counter() - w0)
        if remaining > 0:
            await asyncio.sleep(remaining)
        if profiler is not None:
            await profiler.wait()
            out["profile"] = str(state / "steady.pyspy")
        cpu, wall, sent = (
            process_cpu_s(proc.pid) - cpu0,
            time.perf_counter() - w0,
            (await workers.sent() - sent0),
        )
        gc1 = await gc_pauses(http_port)
        out["gc"] = {k: gc1[k] - gc0.get(k, 0.0) for k in gc1}
        out.update(
            cpu_pct=100 * cpu / wall, msg_rate=sent / wall, cpu_us_per_msg=cpu / max(1, sent) * 1e6,
            cmd_n=len(rtts), cmd_lost=ns.commands - len(rtts),
            cmd_p50_ms=pct(rtts, 0.5), cmd_p99_ms=pct(rtts, 0.99), cmd_max_ms=max(rtts, default=0),
            echo_p50_ms=pct(echoes, 0.5), echo_p99_ms=pct(echoes, 0.99),
        )  # fmt: skip
        t0 = time.perf_counter()
        progress("reconnect storm")
        await workers.tell("storm")
        try:
            await workers.expect("booted", 180)  # every charger reconnected and booted again
            async with asyncio.timeout(60):
                while await connected(http_port) < chargers:
                    await asyncio.sleep(0.05)
            out["storm_settle_s"] = time.perf_counter() - t0
        except TimeoutError:
            out["storm_settle_s"] = float("nan")
            out["storm_unsettled"] = f"{await connected(http_port)} of {chargers} connected"
        out["rss_end_mb"] = rss_mb(proc.pid)
        progress(f"storm settled in {out['storm_settle_s']:.1f} s, RSS {out['rss_end_mb']:.0f} MB")
        # The chargers keep talking; what the process holds once the churn is over.
        await asyncio.sleep(ns.after_storm)
        out["rss_settled_mb"] = rss_mb(proc.pid)
        progress(f"RSS {out['rss_settled_mb']:.0f} MB {ns.after_storm:g} s after the storm")
        inside = inside_gateway_ms((state / "gateway.log").read_text(errors="replace"))
        out["inside_p50_ms"], out["inside_p99_ms"] = pct(inside, 0.5), pct(inside, 0.99)
        out["log_mb"], out["log_errors"] = log_figures(state / "gateway.log")
    finally:
        if workers is not None:
            await workers.stop()
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    return out


async def main(ns: argparse.Namespace) -> None:
    broker = PrivateMosquitto(persistence=False)
    await broker.start()
    rows = []
    try:
        for n in (int(x) for x in ns.chargers.split(",")):
            for run in range(ns.repeat):
                progress(f"{n} chargers, run {run + 1} of {ns.repeat}")
                rows.append(await one_size(ns, n, broker))
                print(f"{n} chargers done: {rows[-1]}", file=sys.stderr, flush=True)
    finally:
        await broker.stop()
        broker.cleanup()
    print(
        f"\nthe daemon under prlimit --nofile={rows[0]['nofile']} (asked: {rows[0]['unit_nofile']}, "
        f"the unit's LimitNOFILE unless --nofile; capped by this machine's hard limit); half "
        f"1.6, half 2.0.1, a transaction open on each, meter values every {ns.meter_interval:g} s; "
        f"{ns.commands} limit commands over {ns.duration:g} s; scheduling priority (nice) of the "
        f"benchmark, the gateway, the broker and the load generators: {os.nice(0)}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'chargers':>8} {'msg/s':>6} {'CPU %':>6} {'µs/msg':>7} {'RSS conn':>8} {'RSS storm':>9} "
        f"{'RSS after':>9} {'KB/chg':>7} {'cmd p50':>8} {'cmd p99':>8} {'cmd max':>8} {'lost':>5} "
        f"{'connect s':>9} {'storm s':>8} {'errors':>6} {'GC full':>7} {'GC >20ms':>8} "
        f"{'lag >20ms':>9} {'lag >100ms':>10}"
    )
    for r in rows:
        if "failed" in r:
            print(
                f"{r['chargers']:8d} FAILED: {r['failed']}; gateway log {r['log_mb']:.0f} MB with "
                f"{r['log_errors']} error lines or tracebacks"
            )
            continue
        print(
            f"{r['chargers']:8d} {r['msg_rate']:6.0f} {r['cpu_pct']:6.1f} "
            f"{r['cpu_us_per_msg']:7.0f} {r['rss_connected_mb']:8.0f} {r['rss_end_mb']:9.0f} "
            f"{r['rss_settled_mb']:9.0f} {per_charger_kb(r):7.1f} {r['cmd_p50_ms']:7.1f}ms "
            f"{r['cmd_p99_ms']:7.1f}ms {r['cmd_max_ms']:7.1f}ms {r['cmd_lost']:5d} "
            f"{r['connect_s']:9.1f} {r['storm_settle_s']:8.1f} {r['log_errors']:6d} "
            f"{r['gc']['gen2']:7.0f} {gc_over_20ms(r):8.0f}"
            f" {r['gc'].get('lag_over_0.02', float('nan')):9.0f}"
            f" {r['gc'].get('lag_over_0.1', float('nan')):10.0f}"
        )
    print(f"\n{'chargers':>8} {'command round trip':>26} {'inside the gateway':>26} "
          f"{'broker echo, no gateway':>26}")  # fmt: skip
    for r in rows:
        if "failed" not in r:
            cmd = spread(r["cmd_p50_ms"], r["cmd_p99_ms"])
            inside = spread(r["inside_p50_ms"], r["inside_p99_ms"])
            echo = spread(r["echo_p50_ms"], r["echo_p99_ms"])
            print(f"{r['chargers']:8d} {cmd:>26} {inside:>26} {echo:>26}")
    print("(RSS conn: once all chargers are connected; RSS storm: when the reconnect storm has "
          f"settled; RSS after: {ns.after_storm:g} s later; KB/chg: RSS added per charger "
          "connected; errors: error lines or tracebacks in the gateway's log; GC: full "
          "collections and collections longer than 20 ms during the steady window; lag: wake-ups of a "
          "100 ms timer in the gateway that ran more than 20 / 100 ms late, same window)")  # fmt: skip
    if ns.repeat > 1:
        print_medians(rows)
    for r in rows:
        if "profile" in r:
            print(f"py-spy profile of the steady window ({r['chargers']} chargers): {r['profile']}")


def per_charger_kb(r: dict[str, Any]) -> float:
    return float((r["rss_connected_mb"] - r["rss_idle_mb"]) * 1024 / r["chargers"])


def gc_over_20ms(r: dict[str, Any]) -> float:
    return float(sum(r["gc"][f"gen{g}_over_20ms"] for g in "012"))


MEDIAN_FIGURES = (
    ("RSS conn MB", "rss_connected_mb"), ("RSS storm MB", "rss_end_mb"),
    ("RSS after MB", "rss_settled_mb"), ("CPU %", "cpu_pct"), ("cmd p50 ms", "cmd_p50_ms"),
    ("cmd p99 ms", "cmd_p99_ms"), ("inside p99 ms", "inside_p99_ms"),
    ("echo p99 ms", "echo_p99_ms"), ("storm s", "storm_settle_s"),
)  # fmt: skip


def print_medians(rows: list[dict[str, Any]]) -> None:
    """Per fleet size: the median of the repeated runs, and the lowest and highest."""
    print("\nmedian (lowest-highest) over the runs of each size")
    sizes = sorted({r["chargers"] for r in rows if "failed" not in r})
    print(f"{'chargers':>8} {'runs':>4} " + " ".join(f"{name:>22}" for name, _ in MEDIAN_FIGURES)
          + f" {'lag >20ms':>14} {'errors':>6}")  # fmt: skip
    for n in sizes:
        done = [r for r in rows if r["chargers"] == n and "failed" not in r]
        cells = []
        for _, key in (*MEDIAN_FIGURES, ("lag", "lag")):
            values = [
                float(r["gc"].get("lag_over_0.02", float("nan"))) if key == "lag" else float(r[key])
                for r in done
            ]
            cells.append(f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})")
        errors = sum(r["log_errors"] for r in done)
        print(f"{n:8d} {len(done):4d} " + " ".join(f"{c:>22}" for c in cells[:-1])
              + f" {cells[-1]:>14} {errors:6d}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chargers", default="1000,2000,5000")
    parser.add_argument("--duration", type=float, default=30.0, help="steady seconds measured")
    parser.add_argument(
        "--meter-interval", type=float, default=60.0, help="seconds (ocpp.meter_interval_s default)"
    )
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="load-generator processes")
    parser.add_argument("--nofile", type=int, help="open-file limit (default: the unit's)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per fleet size (medians)")
    parser.add_argument(
        "--after-storm", type=float, default=20.0, help="seconds after the storm until RSS is read"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the steady window")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.worker:
        url, first, count, interval = ns.worker
        asyncio.run(worker(url, int(first), int(count), float(interval)))
    else:
        asyncio.run(main(ns))
