"""A charger message in → its MQTT record out: CPU per message, against two baselines.

Three central systems run as separate processes on loopback, each fed the same OCPP 1.6
frames by 10 charge points sending one after the other, as real chargers do: MeterValues
with 10 sampled values (energy, power, current and voltage per phase, SoC), or with
`--frame status` StatusNotification (each becomes a retained state record):

- raw websockets: parse the frame, answer an empty CALLRESULT (the floor);
- the bare `ocpp` library: its ChargePoint routing and schema validation, a no-op handler;
- PileBridge: the whole gateway (`pilebridge run`), publishing every record at QoS 1 to a
  private Mosquitto through its SQLite outbox; its CPU is counted until the outbox is empty.

CPU is each server process's user + system time (from /proc), so the load generator's own
cost is not counted. Prints a table; asserts nothing.

    .venv/bin/python -m bench.ocpp_pipeline [--messages N] [--chargers K]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from websockets.asyncio.client import connect

from bench.common import process_cpu_s
from gateway.demo.broker import PrivateMosquitto, free_port

ROOT = Path(__file__).resolve().parents[1]


def meter_values_frame(message_id: str, i: int) -> str:
    ts = "2026-03-01T08:00:00Z"
    values: list[dict[str, Any]] = [
        {"value": str(15000 + i), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "11040", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "55", "measurand": "SoC", "unit": "Percent", "location": "EV"},
    ]
    for phase in ("L1", "L2", "L3"):
        values.append({"value": "16.0", "measurand": "Current.Import", "unit": "A", "phase": phase})
        values.append(
            {"value": "230.1", "measurand": "Voltage", "unit": "V", "phase": f"{phase}-N"}
        )
    payload = {"connectorId": 1, "meterValue": [{"timestamp": ts, "sampledValue": values}]}
    return json.dumps([2, message_id, "MeterValues", payload])


def status_frame(message_id: str, i: int) -> str:
    status = ("Available", "Preparing", "Charging", "SuspendedEV")[i % 4]
    payload = {
        "connectorId": 1,
        "errorCode": "NoError",
        "status": status,
        "timestamp": "2026-03-01T08:00:00Z",
    }
    return json.dumps([2, message_id, "StatusNotification", payload])


FRAMES = {"meter": meter_values_frame, "status": status_frame}
BOOT = json.dumps(
    [2, "boot", "BootNotification", {"chargePointVendor": "Bench", "chargePointModel": "B1"}]
)


async def charger(url: str, cid: str, count: int, frame: str = "meter") -> None:
    async with connect(f"{url}/{cid}", subprotocols=["ocpp1.6"], ping_interval=None) as ws:  # type: ignore[list-item]
        await ws.send(BOOT)
        await ws.recv()
        for i in range(count):
            await ws.send(FRAMES[frame](f"m{i}", i))
            reply = json.loads(await ws.recv())
            if reply[0] != 3:
                raise RuntimeError(f"{cid}: {reply}")


FRAME = "meter"


async def load(url: str, chargers: int, per_charger: int) -> None:
    await asyncio.gather(*(charger(url, f"CP-{k}", per_charger, FRAME) for k in range(chargers)))


async def spawn(*args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def measure_baseline(kind: str, chargers: int, per_charger: int) -> float:
    port = free_port()
    proc = await spawn("-m", "bench.baselines", kind, str(port))
    assert proc.stdout is not None
    await proc.stdout.readline()  # "ready"
    url = f"ws://127.0.0.1:{port}"
    await load(url, chargers, 20)  # warm-up
    cpu0 = process_cpu_s(proc.pid)
    await load(url, chargers, per_charger)
    cpu = process_cpu_s(proc.pid) - cpu0
    proc.terminate()
    await proc.wait()
    return cpu


def health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


async def measure_gateway(
    broker: PrivateMosquitto, chargers: int, per_charger: int
) -> tuple[float, int]:
    state = Path(tempfile.mkdtemp(prefix="pb-bench-ocpp-"))
    ocpp_port, http_port = free_port(), free_port()
    config = {
        "site": {"id": "bench"},
        "state_dir": str(state),
        "http": {"host": "127.0.0.1", "port": http_port},
        "mqtt": {"host": broker.host, "port": broker.port, "outbox": {"synchronous": "normal"}},
        "ocpp": {"host": "127.0.0.1", "port": ocpp_port, "allow_unknown_chargers": True,
                 "ping_interval_s": None},
        "logging": {"level": "warning", "format": "json"},
    }  # fmt: skip
    path = state / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = await spawn("-m", "gateway", "run", "-c", str(path))
    for _ in range(200):
        try:
            health(http_port)
            break
        except OSError:
            await asyncio.sleep(0.05)
    url = f"ws://127.0.0.1:{ocpp_port}/ocpp"
    await load(url, chargers, 20)  # warm-up: boot, first records, caches
    await _drained(http_port)
    seq0 = health(http_port)["outbox"]["last_seq"]
    cpu0 = process_cpu_s(proc.pid)
    await load(url, chargers, per_charger)
    await _drained(http_port)
    cpu = process_cpu_s(proc.pid) - cpu0
    records = health(http_port)["outbox"]["last_seq"] - seq0
    proc.terminate()
    await proc.wait()
    return cpu, records


async def _drained(http_port: int) -> None:
    for _ in range(6000):
        if health(http_port)["outbox"]["depth"] == 0:
            return
        await asyncio.sleep(0.01)
    raise RuntimeError("outbox did not drain")


async def main(messages: int, chargers: int) -> None:
    per_charger = max(1, messages // chargers)
    n = per_charger * chargers
    broker = PrivateMosquitto(persistence=False)
    await broker.start()
    try:
        raw = await measure_baseline("raw", chargers, per_charger)
        bare = await measure_baseline("ocpp", chargers, per_charger)
        t0 = time.perf_counter()
        gw, records = await measure_gateway(broker, chargers, per_charger)
        wall = time.perf_counter() - t0
    finally:
        await broker.stop()
        broker.cleanup()
    what = (
        "MeterValues (OCPP 1.6, 10 sampled values)"
        if FRAME == "meter"
        else "StatusNotification (OCPP 1.6)"
    )
    print(f"\n{n} {what} from {chargers} chargers; CPU of the server process")
    print(f"{'central system':58} {'CPU µs/msg':>10} {'vs ocpp lib':>12}")
    rows = [
        ("baseline: raw websockets parse + reply", raw),
        ("baseline: bare ocpp library (validation, routing)", bare),
        (f"PileBridge: message in -> MQTT record out ({records} records)", gw),
    ]
    for name, cpu in rows:
        print(f"{name:58} {cpu / n * 1e6:10.1f} {cpu / bare:11.2f}x")
    print(f"(PileBridge run including start-up: {wall:.1f} s wall)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--chargers", type=int, default=10)
    parser.add_argument("--frame", choices=sorted(FRAMES), default="meter")
    ns = parser.parse_args()
    FRAME = ns.frame
    asyncio.run(main(ns.messages, ns.chargers))
