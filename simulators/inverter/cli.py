"""`pilebridge sim inverter` / `python -m simulators.inverter`: run the simulator on its own.

Prints one line naming the bound port, then serves until --duration ends or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

import structlog

from .battery import BatteryParams
from .clock import ScaledClock
from .faults import GARBAGE_MODES, Faults
from .simulator import InverterSimulator, MappedSimulator, MeterSimulator, ModbusSimulator

__all__ = ["add_arguments", "run"]

CLI_PROFILES = ("sunspec", "sunspec-legacy", "meter")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the inverter / meter simulator."""
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    add("--port", type=int, default=5020, help="TCP port; 0 picks a free one (default 5020)")
    add("--profile", choices=CLI_PROFILES, default="sunspec",
        help="sunspec: models 1/701/704/713/802; sunspec-legacy: 1/103/124; meter: 1/203")  # fmt: skip
    add("--unit-id", type=int, default=1, help="Modbus unit id (default 1)")
    add("--base", type=int, choices=(40000, 0, 50000), default=40000, help="SunSpec base address")
    add("--capacity-wh", type=float, default=100_000.0, help="battery capacity (Wh)")
    add("--max-charge-w", type=float, default=50_000.0, help="charge power limit (W)")
    add("--max-discharge-w", type=float, default=50_000.0, help="discharge power limit (W)")
    add("--soc-pct", type=float, default=50.0, help="initial state of charge (%%)")
    add("--soc-min-pct", type=float, default=5.0, help="no discharge below (%%)")
    add("--soc-max-pct", type=float, default=100.0, help="no charge above (%%)")
    add("--efficiency", type=float, default=0.92, help="round-trip efficiency (0..1]")
    add("--self-consumption-w", type=float, default=0.0, help="DC auxiliary draw (W)")
    add("--register-map", default=None, metavar="NAME|FILE",
        help="serve a device from a register-map file (config/registers/NAME.yaml or a path) "
             "instead of a SunSpec profile; storage or meter as the file says")  # fmt: skip
    add("--meter-unit-id", type=int, default=None,
        help="also serve a grid meter (SunSpec 203) at this unit id on the same port")  # fmt: skip
    add("--base-load-w", type=float, default=20_000.0, help="meter: site base load (W)")
    add("--time-scale", type=float, default=1.0, help="simulated seconds per real second")
    add("--update-interval", type=float, default=0.5, help="physics update period (s)")
    add("--duration", type=float, default=0.0, help="stop after S seconds (0: run until Ctrl-C)")
    add("--busy-probability", type=float, default=0.0, help="fault: exception 6 with this p")
    add("--delay", type=float, default=0.0, help="fault: delay every reply by S seconds")
    add("--garbage", choices=GARBAGE_MODES, default=None, help="fault: malform replies")
    add("--garbage-count", type=int, default=1, help="fault: how many replies to malform")


def build(args: argparse.Namespace) -> ModbusSimulator:
    """The simulator the options describe (not started)."""
    faults = Faults()
    if args.busy_probability:
        faults.busy(0, p=args.busy_probability)
    if args.delay:
        faults.delay(args.delay)
    if args.garbage:
        faults.garbage(args.garbage, args.garbage_count)
    clock = ScaledClock(args.time_scale)
    common: dict[str, Any] = {
        "unit_id": args.unit_id, "base": args.base, "host": args.host, "port": args.port,
        "clock": clock, "update_interval_s": args.update_interval, "faults": faults,
    }  # fmt: skip
    params = BatteryParams(
        capacity_wh=args.capacity_wh, max_charge_w=args.max_charge_w,
        max_discharge_w=args.max_discharge_w, soc_min_pct=args.soc_min_pct,
        soc_max_pct=args.soc_max_pct, round_trip_efficiency=args.efficiency,
        self_consumption_w=args.self_consumption_w,
    )  # fmt: skip
    if args.register_map:
        del common["base"]
        return MappedSimulator(
            args.register_map, params=params, soc_pct=args.soc_pct,
            base_load=args.base_load_w, **common,
        )  # fmt: skip
    if args.profile == "meter":
        return MeterSimulator(base_load=args.base_load_w, **common)
    return InverterSimulator(
        profile=args.profile, params=params, soc_pct=args.soc_pct,
        meter_unit_id=args.meter_unit_id, base_load=args.base_load_w, **common,
    )  # fmt: skip


async def run(args: argparse.Namespace) -> int:
    """Serve until --duration has passed or SIGINT/SIGTERM; 0 on a clean stop, 1 if unbound."""
    log = structlog.get_logger("simulators.inverter")
    try:
        sim = build(args)
    except ValueError as exc:
        log.error("sim_invalid_options", reason=str(exc))
        return 2
    try:
        await sim.start()
    except OSError as exc:
        log.error("sim_bind_failed", host=args.host, port=args.port, reason=str(exc))
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    log.info(
        "sim_inverter_ready", host=sim.host, port=sim.port,
        profile=f"map:{args.register_map}" if args.register_map else args.profile,
        unit_id=args.unit_id, meter_unit_id=args.meter_unit_id, base=args.base,
    )  # fmt: skip
    try:
        timeout = args.duration if args.duration > 0 else None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout)
    finally:
        await sim.stop()
    return 0
