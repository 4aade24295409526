"""`pilebridge` command line: run, check-config, demo, status, sim, --version."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gateway import __version__
from gateway.config import ConfigError, load_config

__all__ = ["main"]

_SIMULATORS = {
    "charger": ("simulators.charger.cli", "charge-point simulator (OCPP 1.6J / 2.0.1 / 2.1)"),
    "inverter": ("simulators.inverter.cli", "battery-inverter and meter simulator (Modbus TCP)"),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pilebridge",
        description="Edge gateway for EV-charging and battery-storage sites.",
    )
    parser.add_argument("--version", action="version", version=f"pilebridge {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = sub.add_parser("run", help="run the gateway in the foreground")
    run.add_argument("-c", "--config", required=True, type=Path, help="YAML config file")
    run.set_defaults(handler=_cmd_run)

    check = sub.add_parser("check-config", help="validate a config file (exit 1 on any problem)")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=_cmd_check_config)

    status = sub.add_parser("status", help="devices, connections, last values, outbox (on site)")
    status.add_argument(
        "-c", "--config", type=Path, help="config file (default /etc/pilebridge/pilebridge.yaml)"
    )
    status.add_argument("--url", help="health endpoint URL instead of the one in the config")
    status.add_argument("--json", action="store_true", help="print the raw health document")
    status.set_defaults(handler=_cmd_status)

    demo = sub.add_parser("demo", help="a whole simulated site on this machine")
    from gateway.demo import add_arguments as add_demo_arguments

    add_demo_arguments(demo)
    demo.set_defaults(handler=_cmd_demo)

    sim = sub.add_parser("sim", help="device simulators for integration testing")
    sim_sub = sim.add_subparsers(title="simulators", metavar="SIMULATOR")
    for name, (module_name, help_text) in _SIMULATORS.items():
        sim_parser = sim_sub.add_parser(name, help=help_text)
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        module.add_arguments(sim_parser)
        sim_parser.set_defaults(handler=_sim_handler(module))
    return parser


def _cmd_check_config(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print(f"{args.file}: {len(exc.problems)} problem(s)", file=sys.stderr)
        return 1
    print(
        f"{args.file}: OK (site {config.site.id}, {len(config.ocpp.chargers)} charger(s), "
        f"{len(config.modbus.devices)} Modbus device(s))"
    )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from gateway.app import Gateway
    from gateway.logs import configure_logging

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        first = exc.problems[0]
        more = (
            f" (and {len(exc.problems) - 1} more; see 'pilebridge check-config')"
            if len(exc.problems) > 1
            else ""
        )
        print(f"pilebridge: invalid config {args.config}: {first}{more}", file=sys.stderr)
        return 2
    configure_logging(config.logging.level, config.logging.format)
    gateway = Gateway(config)
    try:
        asyncio.run(gateway.run())
    except OSError as exc:
        print(f"pilebridge: cannot start: {exc}", file=sys.stderr)
        return 3
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from gateway.status import run_status

    return run_status(args.config, url=args.url, as_json=args.json)


def _cmd_demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo

    return asyncio.run(run_demo(args))


def _sim_handler(module: Any) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        return int(asyncio.run(module.run(args)))

    return handler
