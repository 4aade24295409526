"""`pilebridge sim charger` / `python -m simulators.charger`: a fleet of charge points."""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys

import structlog

from gateway.foundation.aio import cancel_and_wait
from simulators.charger.config import ChargerConfig, parse_versions
from simulators.charger.ev import EvSpec
from simulators.charger.fleet import ChargerFleet, fleet_configs
from simulators.charger.scenario import (
    Scenario,
    SessionPlan,
    auto_sessions,
    load_scenario,
    parse_session_spec,
    run_scenario,
)

__all__ = ["add_arguments", "run"]

log = structlog.get_logger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Simulated OCPP charge points (1.6J, 2.0.1, 2.1) that connect to URL/ID, boot, "
        "charge EVs, obey charging profiles and reconnect like real hardware."
    )
    add = parser.add_argument
    add(
        "--url",
        default="ws://127.0.0.1:9000/ocpp",
        help="central system base URL; the id is appended",
    )
    add("--count", type=int, default=1, metavar="N", help="number of charge points (default 1)")
    add("--id-prefix", default="CP-", help="ids are PREFIX1..PREFIXN (default CP-)")
    add(
        "--ocpp", default="1.6", help="version, or a mix taken in turn: 1.6,2.0.1,2.1 (default 1.6)"
    )
    add(
        "--evses", type=int, default=1, metavar="N", help="EVSEs (1.6: connectors) per charge point"
    )
    add("--phases", type=int, choices=(1, 2, 3), default=3)
    add("--max-power-w", type=float, default=22_000.0, help="hardware limit per EVSE")
    add("--bidirectional", action="store_true", help="allow V2G discharge (2.1 profiles)")
    add("--password", default=None, help="HTTP Basic auth password (user = charge point id)")
    add("--vendor", default="PileBridge")
    add("--model", default="SimCharger")
    add("--firmware", default="1.0.0")
    add("--meter-interval-s", type=float, default=60.0, help="meter values period (simulated s)")
    add("--heartbeat-interval-s", type=float, default=300.0, help="until the CSMS sets one")
    add("--time-scale", type=float, default=1.0, help="simulated seconds per real second")
    add("--stagger-s", type=float, default=0.05, help="delay between connects in a fleet")
    add("--scenario", default=None, metavar="FILE", help="YAML scenario (sessions, faults)")
    add(
        "--session",
        action="append",
        default=[],
        metavar="K=V,...",
        help="a session, e.g. charger=CP-1,at_s=5,id_tag=TAG1,until_soc_pct=80,capacity_kwh=60",
    )
    add("--auto", action="store_true", help="random EV arrivals on every charge point")
    add("--ev-capacity-kwh", type=float, default=60.0, help="default EV battery")
    add("--ev-soc-pct", type=float, default=20.0, help="default EV initial SoC")
    add(
        "--duration",
        type=float,
        default=0.0,
        metavar="S",
        help="run S real seconds (0: until Ctrl-C)",
    )
    add("--seed", type=int, default=None, help="random seed for reproducible runs")
    add("--log-level", default="info", choices=("debug", "info", "warning", "error"))


def build_fleet(args: argparse.Namespace) -> ChargerFleet:
    """The fleet the arguments describe (ValueError on nonsense)."""
    template = ChargerConfig(
        charger_id="template",
        url=args.url,
        evse_count=args.evses,
        phases=args.phases,
        max_power_w=args.max_power_w,
        bidirectional=args.bidirectional,
        password=args.password,
        vendor=args.vendor,
        model=args.model,
        firmware=args.firmware,
        meter_interval_s=args.meter_interval_s,
        heartbeat_interval_s=args.heartbeat_interval_s,
        time_scale=args.time_scale,
    )
    configs = fleet_configs(
        args.count, template, id_prefix=args.id_prefix, versions=parse_versions(args.ocpp)
    )
    ev = EvSpec(capacity_kwh=args.ev_capacity_kwh, initial_soc_pct=args.ev_soc_pct)
    return ChargerFleet(configs, stagger_s=args.stagger_s, seed=args.seed, ev=ev)


def build_scenario(args: argparse.Namespace) -> Scenario:
    scenario = load_scenario(args.scenario) if args.scenario else Scenario()
    extra: tuple[SessionPlan, ...] = tuple(parse_session_spec(s) for s in args.session)
    return Scenario(scenario.sessions + extra, scenario.faults)


def _configure_logging(level: str) -> None:
    if not structlog.is_configured():
        structlog.configure(
            wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper()))
        )


async def run(args: argparse.Namespace) -> int:
    """Run until `--duration` elapses or the task is cancelled (Ctrl-C); 0 on success."""
    _configure_logging(args.log_level)
    try:
        fleet = build_fleet(args)
        scenario = build_scenario(args)
    except (OSError, ValueError) as exc:
        print(f"pilebridge sim charger: {exc}", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    async with fleet:
        jobs = [asyncio.create_task(run_scenario(scenario, fleet.sims), name="scenario")]
        if args.auto:
            jobs += [
                asyncio.create_task(auto_sessions(sim, random.Random(rng.random())))
                for sim in fleet.sims
            ]
        try:
            if args.duration > 0:
                await asyncio.sleep(args.duration)
            else:
                await asyncio.Event().wait()
        finally:
            await cancel_and_wait(jobs)
            log.info(
                "fleet_summary",
                chargers=len(fleet),
                online=fleet.booted_count(),
                power_w=round(fleet.total_power_w()),
            )
    return 0
