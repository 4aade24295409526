"""Event-loop lag while one charger sends 1 MB frames, against the same gateway without it.

Everything in the gateway shares one event loop: a message that holds it for a second holds
every charger, Modbus poll and the site controller for a second. Here the whole daemon
(`pilebridge run`, shipped defaults, MQTT off so records wait in the outbox) serves a healthy
charger that sends a Heartbeat every 50 ms, and `/metrics` is fetched every 100 ms; then a
second charger sends ~1 MB frames back to back (the next as soon as the previous is
answered). Cases:

- `baseline`: no large frames;
- `datatransfer`: a 1.6 DataTransfer whose `data` is a 1 MB string;
- `sampled_values`: a 1.6 MeterValues with 15,000 sampled values (one meterValue);
- `meter_values`: a 1.6 MeterValues with 14,000 meterValue elements.

Printed per case: frames the flooding charger got answered, the healthy charger's Heartbeat
round trip (median, 99th percentile, max), the slowest `/metrics` answer, and the daemon's
own worst event-loop lag (the upper bound of the `pilebridge_event_loop_lag_seconds` bucket
holding every wake-up, when the daemon exports it). `--root` runs another checkout of the code (e.g. the version before a change) with the
same load. Asserts nothing.

    .venv/bin/python -m bench.ocpp_large_frames [--seconds 8] [--root PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench.common import GatewayDaemon

TS = "2026-03-01T08:00:00Z"


def frames() -> dict[str, str]:
    sampled = {"value": "230.1", "measurand": "Voltage", "phase": "L1", "unit": "V"}
    many_sampled = {
        "connectorId": 1,
        "meterValue": [{"timestamp": TS, "sampledValue": [sampled] * 15_000}],
    }
    element = {"timestamp": TS, "sampledValue": [{"value": "1000"}]}
    many_elements = {"connectorId": 1, "meterValue": [element] * 14_000}
    cases = {
        "datatransfer": ("DataTransfer", {"vendorId": "V", "data": "x" * 1_000_000}),
        "sampled_values": ("MeterValues", many_sampled),
        "meter_values": ("MeterValues", many_elements),
    }  # fmt: skip
    return {k: json.dumps([2, "big", a, p], separators=(",", ":")) for k, (a, p) in cases.items()}


class Daemon(GatewayDaemon):
    start_tries = 600

    def __init__(self, root: Path) -> None:
        super().__init__("pb-bench-frames-", root=root, stdout=asyncio.subprocess.DEVNULL)
        self.write_config(
            {
                "site": {"id": "bench"},
                "state_dir": str(self.state),
                "http": {"host": "127.0.0.1", "port": self.http_port},
                "mqtt": {"enabled": False},
                "ocpp": {
                    "host": "127.0.0.1",
                    "port": self.ocpp_port,
                    "allow_unknown_chargers": True,
                },
                "logging": {"level": "warning"},
            }
        )

    async def ready(self) -> None:
        self.metrics()
        _, writer = await asyncio.open_connection("127.0.0.1", self.ocpp_port)
        writer.close()

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.http_port}/metrics"
        with urllib.request.urlopen(url, timeout=30) as response:
            return str(response.read().decode())

    def lag_max_s(self) -> float | None:
        """Upper bound of the worst event-loop lag: the smallest histogram bucket holding all."""
        buckets, total = [], None
        for line in self.metrics().splitlines():
            if line.startswith("pilebridge_event_loop_lag_seconds_bucket"):
                le = line.split('le="')[1].split('"')[0]
                buckets.append((float(le), float(line.split()[1])))
            elif line.startswith("pilebridge_event_loop_lag_seconds_count"):
                total = float(line.split()[1])
        if total is None:
            return None
        return min(le for le, count in buckets if count >= total)


async def call(ws: ClientConnection, text: str) -> None:
    await ws.send(text)
    await ws.recv()


async def healthy(url: str, stop: asyncio.Event, rtts: list[float]) -> None:
    async with connect(f"{url}/HEALTHY", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        n = 0
        while not stop.is_set():
            n += 1
            t0 = time.perf_counter()
            await call(ws, json.dumps([2, f"hb-{n}", "Heartbeat", {}]))
            rtts.append(time.perf_counter() - t0)
            await asyncio.sleep(0.05)


async def flooder(url: str, frame: str, stop: asyncio.Event, answered: list[int]) -> None:
    async with connect(f"{url}/FLOOD", subprotocols=["ocpp1.6"], max_size=None) as ws:  # type: ignore[list-item]
        while not stop.is_set():
            await call(ws, frame)
            answered[0] += 1


async def metrics_poller(daemon: Daemon, stop: asyncio.Event, latencies: list[float]) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.to_thread(daemon.metrics)
        latencies.append(time.perf_counter() - t0)
        await asyncio.sleep(0.1)


async def run_case(root: Path, frame: str | None, seconds: float) -> dict[str, Any]:
    daemon = Daemon(root)
    await daemon.start()
    url = f"ws://127.0.0.1:{daemon.ocpp_port}/ocpp"
    stop = asyncio.Event()
    rtts: list[float] = []
    latencies: list[float] = []
    answered = [0]
    tasks = [
        asyncio.create_task(healthy(url, stop, rtts)),
        asyncio.create_task(metrics_poller(daemon, stop, latencies)),
    ]
    await asyncio.sleep(1.0)  # warm-up: connections, first answers
    rtts.clear()
    latencies.clear()
    if frame is not None:
        tasks.append(asyncio.create_task(flooder(url, frame, stop, answered)))
    await asyncio.sleep(seconds)
    stop.set()
    done, _ = await asyncio.wait(tasks, timeout=60)
    for task in tasks:
        task.cancel()
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            print(f"  ({task.get_coro().__name__}: {task.exception()!r})", file=sys.stderr)
    lag = await asyncio.to_thread(daemon.lag_max_s)
    await daemon.stop()
    quantiles = (
        statistics.quantiles(rtts, n=100, method="inclusive") if len(rtts) > 1 else [0.0] * 99
    )
    return {
        "answered": answered[0],
        "rtt_p50_ms": statistics.median(rtts) * 1000 if rtts else float("nan"),
        "rtt_p99_ms": quantiles[98] * 1000,
        "rtt_max_ms": max(rtts, default=0.0) * 1000,
        "metrics_max_ms": max(latencies, default=0.0) * 1000,
        "lag_max_ms": None if lag is None else lag * 1000,
    }


async def main(root: Path, seconds: float, cases: list[str]) -> None:
    all_frames = frames()
    print(f"code: {root}  ({seconds:g} s per case; one healthy charger, Heartbeat every 50 ms)")
    header = f"{'case':16} {'1MB answered':>12} {'hb p50 ms':>10} {'hb p99 ms':>10} {'hb max ms':>10} {'/metrics max ms':>16} {'loop lag max ms':>16}"
    print(header)
    for case in ["baseline", *cases]:
        r = await run_case(root, all_frames.get(case), seconds)
        lag = "n/a" if r["lag_max_ms"] is None else f"{r['lag_max_ms']:.1f}"
        print(
            f"{case:16} {r['answered']:>12} {r['rtt_p50_ms']:>10.1f} {r['rtt_p99_ms']:>10.1f} "
            f"{r['rtt_max_ms']:>10.1f} {r['metrics_max_ms']:>16.1f} {lag:>16}",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument(
        "--cases", nargs="*", default=["datatransfer", "sampled_values", "meter_values"]
    )
    args = parser.parse_args()
    asyncio.run(main(args.root.resolve(), args.seconds, args.cases))
