"""Outbox and MQTT delivery: records/s and CPU per record, live and after a broker outage.

Runs the real gateway pipeline in this process (recorder → SQLite outbox → MQTT link → a private
Mosquitto) and compares against a baseline measured in the same run: publishing the same
payloads straight with aiomqtt at QoS 1, no outbox. A record counts once the broker has
acknowledged it (PUBACK). Prints a table; asserts nothing.

    .venv/bin/python -m bench.outbox_throughput [--records N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path

import aiomqtt

from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from gateway.foundation.logs import configure_logging
from gateway.foundation.model import ChargerId, ChargerTelemetry, PhaseValues


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


async def bare_aiomqtt(broker: PrivateMosquitto, n: int) -> tuple[float, float]:
    payload = json.dumps({"seq": 1, "ts": "2026-01-01T00:00:00.000Z", "power_w": 11000.0}).encode()
    cpu0, t0 = time.process_time(), time.perf_counter()
    async with aiomqtt.Client(
        broker.host, broker.port, protocol=aiomqtt.ProtocolVersion.V5, max_inflight_messages=200
    ) as c:
        for start in range(0, n, 500):
            await asyncio.gather(
                *(c.publish("bare/t", payload, qos=1) for _ in range(min(500, n - start)))
            )
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    return cpu, wall


async def pipeline(
    broker: PrivateMosquitto, n: int, sync: str, *, outage: bool
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
            if i % 200 == 199:
                await asyncio.sleep(0)  # producers yield, as drivers do between messages
    while gateway.link.delivered < n:  # every record acknowledged by the broker (PUBACK)
        await asyncio.sleep(0.002)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    gateway.request_stop()
    await serve
    return cpu, wall


async def main(n: int) -> None:
    configure_logging("warning", "console")
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    broker = PrivateMosquitto(persistence=False)
    await broker.start()
    try:
        rows = [("baseline: bare aiomqtt QoS 1, no outbox", *await bare_aiomqtt(broker, n))]
        for sync in ("normal", "full"):
            rows.append(
                (
                    f"pipeline live, synchronous={sync}",
                    *await pipeline(broker, n, sync, outage=False),
                )
            )
        rows.append(
            (
                "backlog after outage, synchronous=full",
                *await pipeline(broker, n, "full", outage=True),
            )
        )
    finally:
        await broker.stop()
        broker.cleanup()
    base_cpu = rows[0][1] / n * 1e6
    print(f"\n{n} records of ChargerTelemetry (3 phases), delivered at QoS 1 to a local Mosquitto")
    print(f"{'case':45} {'records/s':>10} {'CPU µs/rec':>11} {'vs baseline':>12}")
    for name, cpu, wall in rows:
        per = cpu / n * 1e6
        print(f"{name:45} {n / wall:10.0f} {per:11.1f} {per / base_cpu:11.2f}x")
    print(
        "(the live pipeline's CPU includes stamping, JSON, SQLite insert + delete, and the publish itself)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20000)
    asyncio.run(main(parser.parse_args().records))
