"""The site controller's tick at thousands of chargers: how long it holds the event loop.

Every command the gateway carries waits behind whatever holds the loop when it arrives; a
tick that reads every charger's twin holds it in proportion to the chargers connected. This
runs the real controller (`gateway.site.controller.SiteController`) on twins fed the way the
OCPP driver feeds them (each charger connected, a transaction open, meter values arriving at
`--rate` per second between ticks) and measures, per tick, the CPU time of the tick and its
longest wait of a task that wants the loop every 0.5 ms meanwhile (what a command arriving
during the tick can meet: a long stretch of the tick's own, or the GIL held by another
thread), for:

- `monitoring`: no grid limit, nothing controlled (the site only totals its chargers);
- `controlling`: a grid import limit and a grid meter, so the planner runs on every charger.

The router accepts every command in the next turn of the loop (no OCPP): the controller's
own cost.

    .venv/bin/python -m bench.site_tick [--chargers 1000,5000] [--ticks 20] [--rate 83]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog

from gateway.foundation.clock import FakeClock
from gateway.foundation.commands.leasing import LeaseTable
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.config import Config
from gateway.foundation.model import (
    ActiveTransaction,
    ChargerId,
    ChargerState,
    ChargerTelemetry,
    CommandRequest,
    CommandResult,
    DeviceId,
    DeviceKind,
    MeterTelemetry,
    PhaseValues,
)
from gateway.gc_tuning import tune_gc_after_startup
from gateway.outbox import Outbox
from gateway.recorder import OutboxRecorder
from gateway.site.controller import SiteController
from gateway.topics import Topics


def config(state: Path, chargers: int, controlling: bool) -> Config:
    site: dict[str, Any] = {"id": "bench"}
    modbus: dict[str, Any] = {"devices": []}
    if controlling:
        # Room for about 70 % of what the chargers draw: the planner shares it out.
        site["grid_import_limit_w"] = 0.7 * chargers * 11_000
        modbus["devices"] = [{"id": "grid", "kind": "meter", "host": "127.0.0.1"}]
    return Config.model_validate(
        {
            "site": site,
            "state_dir": str(state),
            "mqtt": {"enabled": False},
            "ocpp": {"enabled": False, "allow_unknown_chargers": True},
            "modbus": modbus,
        }
    )


def sample(cid: str, n: int) -> ChargerTelemetry:
    phase = PhaseValues(current_a=16.0)
    return ChargerTelemetry(
        ChargerId(cid),
        1,
        power_w=11_000.0 + n % 7,
        energy_wh=15_000.0 + n,
        phases={"L1": phase, "L2": phase, "L3": phase},
        transaction_id=f"TX-{cid}",
    )


class LoopProbe:
    """A task that wakes every 0.5 ms: its longest wait beyond that is the longest a command
    arriving during the tick would have waited for the loop (a long callback, or the GIL held
    by another thread)."""

    PERIOD_S = 0.0005

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(self.PERIOD_S)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last - self.PERIOD_S)
            last = now

    async def __aenter__(self) -> LoopProbe:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        await asyncio.sleep(2 * self.PERIOD_S)  # its wake-up after the tick's last step
        self._task.cancel()


async def run(chargers: int, ticks: int, rate: float, controlling: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        outbox = Outbox(Path(tmp) / "o.sqlite", synchronous="normal")
        await outbox.open()
        cfg = config(Path(tmp) / "state", chargers, controlling)
        clock = FakeClock()
        router = CommandRouter(leases=LeaseTable(clock))

        async def accept(request: CommandRequest, args: Any) -> CommandResult:
            await asyncio.sleep(0)  # a charger's answer comes in a later turn of the loop
            return CommandResult.accepted()

        router.register(DeviceKind.CHARGER, "limit", accept)
        recorder = OutboxRecorder(outbox, Topics("p", "bench"))
        controller = SiteController(cfg, recorder, router, clock)
        ids = [f"CP-{i}" for i in range(chargers)]
        for cid in ids:
            tx = ActiveTransaction(f"TX-{cid}", 1, cid, None)
            recorder.record(ChargerState(ChargerId(cid), True, "1.6", transactions=(tx,)))
            recorder.record(sample(cid, 0))
        tune_gc_after_startup()  # as the daemon does once started
        per_tick = max(1, round(rate * cfg.site.controller_interval_s))
        cpu: list[float] = []
        held: list[float] = []
        n = 0
        for _ in range(ticks + 2):  # the first two settle (first sight, first plan)
            for _ in range(per_tick):
                n += 1
                recorder.record(sample(ids[n * 7919 % chargers], n))
            if controlling:
                grid = 0.9 * chargers * 11_000
                recorder.record(MeterTelemetry(DeviceId("grid"), power_w=grid))
            async with LoopProbe() as probe:
                t0 = time.process_time()
                await asyncio.create_task(controller.tick())  # the probe waits behind its steps
                cpu.append(time.process_time() - t0)
            held.append(probe.longest)
            await outbox.flushed()
            await clock.advance(cfg.site.controller_interval_s)
        await outbox.close()
    cpu, held = cpu[2:], held[2:]
    return {
        "cpu_ms": statistics.median(cpu) * 1e3,
        "held_ms": statistics.median(held) * 1e3,
        "held_max_ms": max(held) * 1e3,
    }


async def main(ns: argparse.Namespace) -> None:
    # The controller logs every decision at info: thousands per tick here.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(
        f"site controller tick, {ns.rate:g} meter values/s between ticks, median of {ns.ticks} "
        "ticks (CPU of the tick, all threads; longest wait for the event loop, median and worst)"
    )
    print(f"{'chargers':>8} {'mode':>12} {'tick CPU ms':>12} {'loop held ms':>13} {'worst':>7}")
    for chargers in (int(x) for x in ns.chargers.split(",")):
        for controlling in (False, True):
            r = await run(chargers, ns.ticks, ns.rate, controlling)
            mode = "controlling" if controlling else "monitoring"
            print(
                f"{chargers:8d} {mode:>12} {r['cpu_ms']:12.2f} {r['held_ms']:13.2f} "
                f"{r['held_max_ms']:7.2f}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chargers", default="1000,5000")
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--rate", type=float, default=83.0, help="meter values per second")

    asyncio.run(main(parser.parse_args()))
