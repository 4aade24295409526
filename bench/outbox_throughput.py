"""Outbox and MQTT delivery: records/s and CPU per record, live and after a broker outage.

Runs the real gateway pipeline in this process (recorder → SQLite outbox → MQTT link → a private
Mosquitto) and compares against the strongest baseline, measured in the same run: the
project's own `BatchPublisher` alone, handing the same already-serialised payloads to paho in
batches of the outbox's batch size at QoS 1 -- no records, no JSON, no SQLite. The live
pipeline is fed two ways: in bursts (200 records between two yields) and one record at a
time, as OCPP traffic arrives. A record counts once the broker has acknowledged it (PUBACK).
CPU is this process's (all threads); the broker runs in its own. Each case runs `--repeat`
times and the table shows medians. Prints a table; asserts nothing.

    .venv/bin/python -m bench.outbox_throughput [--records N] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiomqtt

from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config, MqttConfig
from gateway.foundation.logs import configure_logging
from gateway.foundation.model import ChargerId, ChargerTelemetry, PhaseValues
from gateway.mqtt.batch_publisher import BatchPublisher
from gateway.outbox import OutboxRow
from gateway.payloads import to_message
from gateway.topics import Topics

TOPICS = Topics("pilebridge", "bench")


def sample(i: int) -> ChargerTelemetry:
    phase = PhaseValues(current_a=16.0, voltage_v=230.0 + i % 3)
    return ChargerTelemetry(
        ChargerId(f"CP-{i % 10}"),
        evse=1,
        power_w=11000.0,
        energy_wh=1000.0 + i,
        current_a=16.0,
        voltage_v=230.0,
        soc_pct=55.0,
        phases={"L1": phase, "L2": phase, "L3": phase},
    )


def config(broker: PrivateMosquitto, state_dir: Path, sync: str) -> Config:
    return Config.model_validate(
        {
            "site": {"id": "bench"},
            "state_dir": str(state_dir),
            "mqtt": {
                "host": broker.host,
                "port": broker.port,
                "outbox": {"synchronous": sync},
                "reconnect_min_s": 0.05,
                "reconnect_max_s": 0.2,
            },
            "ocpp": {"enabled": False},
            "http": {"enabled": False},
            "logging": {"level": "warning"},
        }
    )


async def publisher_alone(broker: PrivateMosquitto, n: int) -> tuple[float, float]:
    batch = MqttConfig().outbox.batch_size
    rows = [
        OutboxRow(i, f"bench/{i % 10}", json.dumps({"seq": i, **to_message(sample(i), TOPICS).body}).encode(), False, True)
        for i in range(n)
    ]  # fmt: skip
    async with aiomqtt.Client(
        broker.host, broker.port, protocol=aiomqtt.ProtocolVersion.V5, max_inflight_messages=batch
    ) as client:
        publisher = BatchPublisher(client)
        cpu0, t0 = time.process_time(), time.perf_counter()
        for start in range(0, n, batch):
            await publisher.publish(rows[start : start + batch])
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    return cpu, wall


async def pipeline(
    broker: PrivateMosquitto, n: int, sync: str, *, outage: bool, burst: int = 200
) -> tuple[float, float]:
    state = Path(tempfile.mkdtemp(prefix="pb-bench-"))
    gateway = Gateway(config(broker, state, sync))
    await gateway.start()
    serve = asyncio.create_task(gateway.serve(install_signal_handlers=False))
    while not (gateway.link and gateway.link.connected):
        await asyncio.sleep(0.01)
    if outage:
        await broker.stop()
        for i in range(n):
            gateway.recorder.record(sample(i))
        await gateway.outbox.flushed()
        cpu0, t0 = time.process_time(), time.perf_counter()
        await broker.start()
    else:
        cpu0, t0 = time.process_time(), time.perf_counter()
        for i in range(n):
            gateway.recorder.record(sample(i))
            if i % burst == burst - 1:
                await asyncio.sleep(0)  # producers yield, as drivers do between messages
    while gateway.link.delivered < n:  # every record acknowledged by the broker (PUBACK)
        await asyncio.sleep(0.002)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    gateway.request_stop()
    await serve
    return cpu, wall


CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("pipeline live, bursts of 200, synchronous=full", "full", {"outage": False}),
    ("pipeline live, one at a time, synchronous=full", "full", {"outage": False, "burst": 1}),
    ("pipeline live, bursts of 200, synchronous=normal", "normal", {"outage": False}),
    ("backlog after outage, synchronous=full", "full", {"outage": True}),
]


async def main(n: int, repeat: int) -> None:
    configure_logging("warning", "console")
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    broker = PrivateMosquitto(persistence=False)
    await broker.start()
    name0 = "baseline: BatchPublisher alone (paho, QoS 1)"
    results: dict[str, list[tuple[float, float]]] = {name0: []}
    try:
        for _ in range(repeat):
            results[name0].append(await publisher_alone(broker, n))
            for name, sync, kwargs in CASES:
                run = await pipeline(broker, n, sync, **kwargs)
                results.setdefault(name, []).append(run)
    finally:
        await broker.stop()
        broker.cleanup()
    print(
        f"\n{n} records of ChargerTelemetry (3 phases), delivered at QoS 1 to a local Mosquitto; "
        f"median of {repeat} runs"
    )
    print(f"{'case':50} {'records/s':>10} {'CPU µs/rec':>11} {'vs baseline':>12}")
    base_cpu = statistics.median(c for c, _ in results[name0]) / n * 1e6
    for name, runs in results.items():
        per = statistics.median(c for c, _ in runs) / n * 1e6
        rate = n / statistics.median(w for _, w in runs)
        print(f"{name:50} {rate:10.0f} {per:11.1f} {per / base_cpu:11.2f}x")
    print(
        "(the pipeline's CPU includes building the record, stamping, JSON, SQLite insert + "
        "delete, and the publish itself)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    ns = parser.parse_args()
    asyncio.run(main(ns.records, ns.repeat))
