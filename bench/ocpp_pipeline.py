"""The charging path: one charger message in -> its MQTT records out, CPU per message.

What a charging site lives on: every charger has a transaction open and sends meter values
(9 sampled values: energy, power, SoC, current and voltage per phase) -- OCPP 1.6
`MeterValues` with the transaction id, OCPP 2.0.1 and 2.1 `TransactionEvent(Updated)` with
a meterValue. Each becomes two records (telemetry and the transaction's `updated` event).

Two central systems run as separate processes on loopback, fed the same frames by K charge
points sending one after the other, as real chargers do:

- the floor: a raw websockets server that parses each frame and answers a CALLRESULT
  (`bench/baselines.py raw`): what any Python central system pays before doing anything;
- PileBridge: the whole daemon (`pilebridge run`) with the shipped defaults (outbox
  `synchronous=full`, info logs as JSON lines), publishing every record at QoS 1 to a private
  Mosquitto; its CPU is counted until the outbox is empty.

CPU is each server process's user + system time from /proc (not wall time: on a shared
machine wall time measures the neighbours), so the load generator's own cost is not counted.
Each case runs `--repeat` times; the table shows medians. Asserts nothing.

CPU time on a shared virtual machine moves with the neighbours, and not alike for both sides
(the floor, which idles between messages, pays more for each wake-up when the host is busy).
`--callgrind` counts instead each server's instructions per message under valgrind's
callgrind, only while the measured messages are handled (counting switched on after the
warm-up and dumped once the outbox is empty): the same figure whatever else the machine
runs. It leaves out what the kernel does (system calls, the disk), and the daemon runs about
fifty times slower under valgrind, so its commit window holds fewer messages than at full
speed: more commits and syncs per message than in the CPU figure, never fewer.

    .venv/bin/python -m bench.ocpp_pipeline [--messages 3000] [--chargers 10] [--repeat 3]
    .venv/bin/python -m bench.ocpp_pipeline --callgrind [--messages 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from bench.common import GatewayDaemon, process_cpu_s, spawn_python
from gateway.demo.broker import PrivateMosquitto, free_port

TS = "2026-03-01T08:00:00Z"


def sampled_values(i: int, *, v2: bool) -> list[dict[str, Any]]:
    """Energy, power, SoC and current + voltage per phase (1.6 strings, 2.x numbers)."""

    def value(x: float) -> Any:
        return x if v2 else str(x)

    energy: dict[str, Any] = {
        "value": value(15000 + i),
        "measurand": "Energy.Active.Import.Register",
    }
    energy.update({"unitOfMeasure": {"unit": "Wh"}} if v2 else {"unit": "Wh"})
    values: list[dict[str, Any]] = [
        energy,
        {"value": value(11040), "measurand": "Power.Active.Import"},
        {"value": value(55), "measurand": "SoC", "location": "EV"},
    ]
    for phase in ("L1", "L2", "L3"):
        values.append({"value": value(16.0), "measurand": "Current.Import", "phase": phase})
        values.append({"value": value(230.1), "measurand": "Voltage", "phase": f"{phase}-N"})
    for v in values:
        v["context"] = "Sample.Periodic"
    return values


# -- OCPP 1.6: BootNotification, StartTransaction, then MeterValues with the transaction id --


def v16_open(cid: str) -> list[str]:
    boot = {"chargePointVendor": "Bench", "chargePointModel": "B1"}
    start = {"connectorId": 1, "idTag": f"TAG-{cid}", "meterStart": 15000, "timestamp": TS}
    return [
        json.dumps([2, "boot", "BootNotification", boot]),
        json.dumps([2, "start", "StartTransaction", start]),
    ]


def v16_message(tx_id: Any, i: int) -> str:
    payload = {
        "connectorId": 1,
        "transactionId": tx_id,
        "meterValue": [{"timestamp": TS, "sampledValue": sampled_values(i, v2=False)}],
    }
    return json.dumps([2, f"m{i}", "MeterValues", payload])


# -- OCPP 2.0.1: BootNotification, TransactionEvent Started, then Updated with meter values --


def v2_open(cid: str) -> list[str]:
    boot = {"reason": "PowerUp", "chargingStation": {"model": "B1", "vendorName": "Bench"}}
    started = {
        "eventType": "Started", "timestamp": TS, "triggerReason": "Authorized", "seqNo": 0,
        "transactionInfo": {"transactionId": f"TX-{cid}"}, "evse": {"id": 1, "connectorId": 1},
        "idToken": {"idToken": f"TAG-{cid}", "type": "ISO14443"},
    }  # fmt: skip
    return [
        json.dumps([2, "boot", "BootNotification", boot]),
        json.dumps([2, "start", "TransactionEvent", started]),
    ]


def v2_message(tx_id: Any, i: int) -> str:
    payload = {
        "eventType": "Updated", "timestamp": TS, "triggerReason": "MeterValuePeriodic",
        "seqNo": i + 1, "transactionInfo": {"transactionId": tx_id},
        "meterValue": [{"timestamp": TS, "sampledValue": sampled_values(i, v2=True)}],
    }  # fmt: skip
    return json.dumps([2, f"m{i}", "TransactionEvent", payload])


VERSIONS: dict[str, tuple[str, Callable[[str], list[str]], Callable[[Any, int], str]]] = {
    "1.6": ("ocpp1.6", v16_open, v16_message),
    "2.0.1": ("ocpp2.0.1", v2_open, v2_message),
    "2.1": ("ocpp2.1", v2_open, v2_message),
}
WHAT = {
    "1.6": "1.6 MeterValues in a transaction",
    "2.0.1": "2.0.1 TransactionEvent(Updated)",
    "2.1": "2.1 TransactionEvent(Updated)",
}


async def charger(url: str, cid: str, version: str, count: int, offset: int) -> None:
    subprotocol, opening, message = VERSIONS[version]
    async with connect(f"{url}/{cid}", subprotocols=[subprotocol], ping_interval=None) as ws:  # type: ignore[list-item]
        replies = []
        for frame in opening(cid):
            await ws.send(frame)
            replies.append(json.loads(await ws.recv()))
        tx_id: Any = f"TX-{cid}"
        if version == "1.6":
            tx_id = replies[1][2].get("transactionId", 1) if replies[1][0] == 3 else 1
        for i in range(offset, offset + count):
            await ws.send(message(tx_id, i))
            reply = json.loads(await ws.recv())
            if reply[0] != 3:
                raise RuntimeError(f"{cid}: {reply}")


async def load(url: str, version: str, chargers: int, per_charger: int, offset: int) -> None:
    # Chargers of each version are their own (CP16-0, CP201-0, ...): a charger that came back
    # speaking another version would bring the last case's open transaction along.
    prefix = "CP" + version.replace(".", "")
    await asyncio.gather(
        *(charger(url, f"{prefix}-{k}", version, per_charger, offset) for k in range(chargers))
    )


async def measure_raw(version: str, chargers: int, per_charger: int) -> float:
    port = free_port()
    proc = await spawn_python("-m", "bench.baselines", "raw", str(port))
    assert proc.stdout is not None
    await proc.stdout.readline()  # "ready"
    url = f"ws://127.0.0.1:{port}"
    try:
        await load(url, version, chargers, 20, 0)  # warm-up
        cpu0 = process_cpu_s(proc.pid)
        await load(url, version, chargers, per_charger, 20)
        return process_cpu_s(proc.pid) - cpu0
    finally:
        proc.terminate()
        await proc.wait()


def callgrind(out_dir: Path) -> list[str]:
    """valgrind's callgrind with counting off until `counted()` switches it on."""
    return [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out_dir}/callgrind.%p",
    ]


async def _control(pid: int, *args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "callgrind_control",
        *args,
        str(pid),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    if await proc.wait() != 0:
        raise RuntimeError(f"callgrind_control {' '.join(args)} {pid} failed")


async def counted(pid: int, out_dir: Path, work: Awaitable[None]) -> int:
    """Instructions process `pid` (under `callgrind(out_dir)`) runs while `work` runs."""
    await _control(pid, "--instr=on")
    await _control(pid, "--zero")
    await work
    await _control(pid, "--dump")
    await _control(pid, "--instr=off")
    dump = out_dir / f"callgrind.{pid}.1"
    for _ in range(600):
        if dump.exists():
            for line in dump.read_text().splitlines():
                if line.startswith("totals:"):
                    return int(line.split()[1])
        await asyncio.sleep(0.1)
    raise RuntimeError(f"no callgrind totals in {dump}")


async def instructions_raw(version: str, chargers: int, per_charger: int) -> int:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pb-bench-cg-") as tmp:
        proc = await spawn_python(
            "-m", "bench.baselines", "raw", str(port), wrapper=callgrind(Path(tmp))
        )
        assert proc.stdout is not None
        await proc.stdout.readline()  # "ready"
        url = f"ws://127.0.0.1:{port}"
        try:
            await load(url, version, chargers, 20, 0)  # warm-up
            work = load(url, version, chargers, per_charger, 20)
            return await counted(proc.pid, Path(tmp), work)
        finally:
            proc.terminate()
            await proc.wait()


def health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


class Gateway(GatewayDaemon):
    """`pilebridge run` with the shipped defaults, plus what a bench needs to reach it."""

    def __init__(self, broker: PrivateMosquitto) -> None:
        super().__init__("pb-bench-ocpp-")
        self.write_config({
            "site": {"id": "bench"},
            "state_dir": str(self.state),
            "http": {"host": "127.0.0.1", "port": self.http_port},
            "mqtt": {"host": broker.host, "port": broker.port},
            # Each bench charger sends flat out, far above a real charger's rate: the
            # per-charger flood limit (20 msg/s by default) is lifted, nothing else changed.
            "ocpp": {"host": "127.0.0.1", "port": self.ocpp_port, "allow_unknown_chargers": True,
                     "authorize": {"accept_all": True},
                     "rate_limit": {"messages_per_s": 1e6, "bytes_per_s": 1e9}},
            "logging": {"format": "json"},
        })  # fmt: skip

    async def ready(self) -> None:
        health(self.http_port)

    async def measure(
        self, version: str, chargers: int, per_charger: int, offset: int
    ) -> tuple[float, int]:
        assert self.proc is not None
        url = f"ws://127.0.0.1:{self.ocpp_port}/ocpp"
        await load(url, version, chargers, 20, offset)  # warm-up: boot, transaction, caches
        await self.drained()
        seq0 = health(self.http_port)["outbox"]["last_seq"]
        cpu0 = process_cpu_s(self.proc.pid)
        await load(url, version, chargers, per_charger, offset + 20)
        await self.drained()
        cpu = process_cpu_s(self.proc.pid) - cpu0
        return cpu, health(self.http_port)["outbox"]["last_seq"] - seq0

    async def instructions(
        self, version: str, chargers: int, per_charger: int, out_dir: Path
    ) -> int:
        """Instructions for `per_charger` messages from each charger (under `callgrind`)."""
        assert self.proc is not None
        url = f"ws://127.0.0.1:{self.ocpp_port}/ocpp"
        await load(url, version, chargers, 20, 0)
        await self.drained()

        async def work() -> None:
            await load(url, version, chargers, per_charger, 20)
            await self.drained()

        return await counted(self.proc.pid, out_dir, work())

    async def drained(self) -> None:
        for _ in range(12000):
            if health(self.http_port)["outbox"]["depth"] == 0:
                return
            await asyncio.sleep(0.01)
        raise RuntimeError("outbox did not drain")


async def main(messages: int, chargers: int, repeat: int, versions: list[str]) -> None:
    per_charger = max(1, messages // chargers)
    n = per_charger * chargers
    raw: dict[str, list[float]] = {v: [] for v in versions}
    gw: dict[str, list[float]] = {v: [] for v in versions}
    records: dict[str, int] = {}
    broker = PrivateMosquitto(persistence=False)
    await broker.start()
    try:
        for r in range(repeat):
            for version in versions:
                raw[version].append(await measure_raw(version, chargers, per_charger))
            gateway = Gateway(broker)
            await gateway.start()
            try:
                for version in versions:
                    cpu, records[version] = await gateway.measure(
                        version, chargers, per_charger, r * (per_charger + 40)
                    )
                    gw[version].append(cpu)
            finally:
                await gateway.stop()
            print(f"run {r + 1}/{repeat} done", file=sys.stderr, flush=True)
    finally:
        await broker.stop()
        broker.cleanup()
    print(
        f"\n{n} messages per case from {chargers} chargers, transaction open, shipped defaults; "
        f"CPU of the server process, median of {repeat} runs"
    )
    print(f"{'case':40} {'floor µs/msg':>12} {'PileBridge µs/msg':>18} {'ratio':>7} {'records':>8}")
    for version in versions:
        floor = statistics.median(raw[version]) / n * 1e6
        ours = statistics.median(gw[version]) / n * 1e6
        print(
            f"{WHAT[version]:40} {floor:12.1f} {ours:18.1f} {ours / floor:6.2f}x "
            f"{records[version]:8d}"
        )
    spread = {v: [round(c / n * 1e6) for c in gw[v]] for v in versions}
    print(f"(PileBridge µs/msg per run: {spread})")


async def main_callgrind(messages: int, chargers: int, versions: Sequence[str]) -> None:
    """One count per case (counts repeat: no medians needed)."""
    per_charger = max(1, messages // chargers)
    n = per_charger * chargers
    raw = {v: await instructions_raw(v, chargers, per_charger) for v in versions}
    ours: dict[str, int] = {}
    broker = PrivateMosquitto(persistence=False)
    await broker.start()
    try:
        with tempfile.TemporaryDirectory(prefix="pb-bench-cg-") as tmp:
            for version in versions:  # a daemon per case: each has its own first dump
                out_dir = Path(tmp) / version
                out_dir.mkdir()
                gateway = Gateway(broker)
                gateway.wrapper = callgrind(out_dir)
                gateway.start_tries = 2400  # start-up under valgrind: up to two minutes
                await gateway.start()
                try:
                    ours[version] = await gateway.instructions(
                        version, chargers, per_charger, out_dir
                    )
                finally:
                    await gateway.stop()
                print(f"{version} done", file=sys.stderr, flush=True)
    finally:
        await broker.stop()
        broker.cleanup()
    print(
        f"\n{n} messages per case from {chargers} chargers, transaction open, shipped defaults; "
        "instructions of the server process (callgrind, user space only)"
    )
    print(f"{'case':40} {'floor instr/msg':>16} {'PileBridge instr/msg':>21} {'ratio':>7}")
    for version in versions:
        floor, mine = raw[version] / n, ours[version] / n
        print(f"{WHAT[version]:40} {floor:16,.0f} {mine:21,.0f} {mine / floor:6.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=None, help="per case (3000; 2000 counted)")
    parser.add_argument("--chargers", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--versions", default="1.6,2.0.1,2.1")
    parser.add_argument("--callgrind", action="store_true", help="count instructions instead")
    ns = parser.parse_args()
    if ns.callgrind:
        messages = ns.messages or 2000
        asyncio.run(main_callgrind(messages, ns.chargers, ns.versions.split(",")))
    else:
        messages = ns.messages or 3000
        asyncio.run(main(messages, ns.chargers, ns.repeat, ns.versions.split(",")))
