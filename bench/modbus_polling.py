"""Modbus polling cost: the gateway polling N SunSpec inverters against a bare pymodbus loop.

N battery-inverter simulators (SunSpec 1/701/704/713/802, the bundled simulator) run in a
process of their own. Then, one after the other, two pollers read them at 1 Hz for
`--duration` seconds:

- bare pymodbus (its own process): one AsyncModbusTcpClient per device, with the gateway's
  client settings, reading exactly the register blocks the gateway reads (found once, before
  the measurement, with the gateway's own SunSpec discovery) on the same schedule (multiples
  of the interval, every device in step) -- the floor for those reads in Python;
- PileBridge: the daemon (`pilebridge run`, shipped defaults, ocpp off) polling the same
  devices, decoding them and publishing a telemetry record per poll to a private Mosquitto.

CPU is each poller process's user + system time from /proc over the same window (not wall
time: the machine may be shared). Each case runs `--repeat` times; medians. Asserts nothing.

    .venv/bin/python -m bench.modbus_polling [--devices 50] [--duration 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import structlog
import yaml

from bench.common import process_cpu_s
from gateway.demo.broker import PrivateMosquitto, free_port

ROOT = Path(__file__).resolve().parents[1]


# -- the simulators (own process) ---------------------------------------------------------------


async def serve_simulators(count: int) -> None:
    from simulators.inverter.simulator import InverterSimulator

    sims = [InverterSimulator(device_id=f"bess-{i}") for i in range(count)]
    for sim in sims:
        await sim.start()
    print(json.dumps([sim.port for sim in sims]), flush=True)
    await asyncio.Future()


# -- the bare pymodbus poller (own process) -----------------------------------------------------


async def blocks_for(port: int) -> list[tuple[int, int, int]]:
    """(unit, address, count) the gateway polls on this device, from its own discovery."""
    from drivers.modbus.device import ModbusDevice
    from gateway.foundation.clock import SystemClock
    from gateway.foundation.config import ModbusDeviceConfig

    config = ModbusDeviceConfig(id="probe", kind="storage", host="127.0.0.1", port=port)
    device = ModbusDevice(config, record=lambda _: None, clock=SystemClock())
    await device.poll_once()
    await device.stop()
    assert device.profile is not None
    return [(b.unit_id, b.address, b.count) for b in device.profile.poll_blocks()]


async def bare_poller(ports: list[int], interval_s: float) -> None:
    from pymodbus.client import AsyncModbusTcpClient

    from gateway.foundation.config import ModbusDeviceConfig

    plans = [await blocks_for(port) for port in ports]
    clients = []
    timeout = ModbusDeviceConfig(id="x", kind="storage", host="h").timeout_s
    for port in ports:
        # The gateway's client settings (drivers/modbus/link.py), its default timeout.
        client = AsyncModbusTcpClient(
            "127.0.0.1", port=port, timeout=timeout, retries=0, reconnect_delay=0
        )
        await client.connect()
        clients.append(client)
    print(json.dumps({"blocks": len(plans[0])}), flush=True)

    async def poll(client: Any, blocks: list[tuple[int, int, int]]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            for unit, address, count in blocks:
                reply = await client.read_holding_registers(address, count=count, device_id=unit)
                if reply.isError() or len(reply.registers) != count:
                    raise RuntimeError(f"read {address}+{count} failed")
            # On multiples of the interval, in step, as the gateway polls (drivers/modbus/device.py).
            await asyncio.sleep(interval_s - loop.time() % interval_s)

    await asyncio.gather(*(poll(c, b) for c, b in zip(clients, plans, strict=True)))


# -- the driver ---------------------------------------------------------------------------------


async def spawn(*args: str, stderr: Any = asyncio.subprocess.DEVNULL) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=stderr
    )


async def cpu_over(pid: int, seconds: float) -> float:
    cpu0 = process_cpu_s(pid)
    await asyncio.sleep(seconds)
    return process_cpu_s(pid) - cpu0


async def measure_bare(ports: list[int], duration: float) -> tuple[float, int]:
    """(CPU seconds, reads per poll) of the bare poller over `duration`."""
    proc = await spawn("-m", "bench.modbus_polling", "--bare", json.dumps(ports))
    assert proc.stdout is not None
    try:
        blocks: int = json.loads(await asyncio.wait_for(proc.stdout.readline(), 120))["blocks"]
        await asyncio.sleep(2)  # every client past its first poll
        return await cpu_over(proc.pid, duration), blocks
    finally:
        proc.terminate()
        await proc.wait()


def _health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def _modbus_requests(port: int) -> float:
    """pilebridge_messages_total{protocol="modbus",direction="out"} from the daemon's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            name, _, value = line.rpartition(" ")
            if name == 'pilebridge_messages_total{direction="out",protocol="modbus"}':
                return float(value)
    return 0.0


async def measure_gateway(
    ports: list[int], broker: PrivateMosquitto, duration: float
) -> tuple[float, float]:
    """(CPU seconds, Modbus requests) of the daemon over `duration`."""
    state = Path(tempfile.mkdtemp(prefix="pb-bench-modbus-"))
    http_port = free_port()
    devices = [
        {"id": f"bess-{i}", "kind": "storage", "host": "127.0.0.1", "port": port}
        for i, port in enumerate(ports)
    ]
    config = {
        "site": {"id": "bench"},
        "state_dir": str(state),
        "http": {"host": "127.0.0.1", "port": http_port},
        "mqtt": {"host": broker.host, "port": broker.port},
        "ocpp": {"enabled": False},
        "modbus": {"devices": devices},
        "logging": {"format": "json"},
    }
    path = state / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = await spawn("-m", "gateway", "run", "-c", str(path))
    try:
        async with asyncio.timeout(120):
            while True:
                try:
                    storage = (await asyncio.to_thread(_health, http_port))["devices"]["storage"]
                    if len(storage) == len(ports) and all(d["connected"] for d in storage):
                        break
                except OSError:
                    pass
                await asyncio.sleep(0.2)
        await asyncio.sleep(2)
        requests = await asyncio.to_thread(_modbus_requests, http_port)
        cpu = await cpu_over(proc.pid, duration)
        return cpu, await asyncio.to_thread(_modbus_requests, http_port) - requests
    finally:
        proc.terminate()
        await proc.wait()


async def main(devices: int, duration: float, repeat: int) -> None:
    sims = await spawn("-m", "bench.modbus_polling", "--serve-simulators", str(devices))
    assert sims.stdout is not None
    ports: list[int] = json.loads(await asyncio.wait_for(sims.stdout.readline(), 60))
    broker = PrivateMosquitto(persistence=False)
    await broker.start()
    bare: list[float] = []
    ours: list[float] = []
    requests: list[float] = []
    try:
        for r in range(repeat):
            cpu, blocks = await measure_bare(ports, duration)
            bare.append(cpu)
            cpu, sent = await measure_gateway(ports, broker, duration)
            ours.append(cpu)
            requests.append(sent)
            print(f"run {r + 1}/{repeat} done", file=sys.stderr, flush=True)
    finally:
        await broker.stop()
        broker.cleanup()
        sims.terminate()
        await sims.wait()
    polls = devices * duration
    b, g = statistics.median(bare), statistics.median(ours)
    print(
        f"\n{devices} SunSpec inverters polled at 1 Hz for {duration:g} s; CPU of the poller "
        f"process, median of {repeat} runs"
    )
    print(f"{'poller':46} {'% of a core':>11} {'CPU µs/poll':>12} {'ratio':>7}")
    print(f"{'bare pymodbus, the same register blocks':46} {100 * b / duration:11.2f} "
          f"{b / polls * 1e6:12.0f} {1:6.2f}x")  # fmt: skip
    print(f"{'PileBridge: poll, decode, record, MQTT':46} {100 * g / duration:11.2f} "
          f"{g / polls * 1e6:12.0f} {g / b:6.2f}x")  # fmt: skip
    print(f"reads per poll: bare {blocks}, PileBridge {statistics.median(requests) / polls:.2f} "
          "(its Modbus request counter over the window)")  # fmt: skip
    print(f"(per run, % of a core: bare {[round(100 * x / duration, 2) for x in bare]}, "
          f"PileBridge {[round(100 * x / duration, 2) for x in ours]})")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serve-simulators", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--bare", metavar="PORTS", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.serve_simulators or ns.bare:
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    if ns.serve_simulators:
        asyncio.run(serve_simulators(ns.serve_simulators))
    elif ns.bare:
        asyncio.run(bare_poller(json.loads(ns.bare), 1.0))
    else:
        asyncio.run(main(ns.devices, ns.duration, ns.repeat))
