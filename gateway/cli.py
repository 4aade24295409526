"""`pilebridge` command line: run, check-config, status, demo, sim, --version.

`demo` and `sim` are a table of module names imported only when their command is given: a
daemon on an edge box loads only what it runs (`pilebridge run` never loads the simulators
nor the `ocpp` package's client ChargePoint they use), and a broken or missing optional
module cannot stop the daemon from starting. Such a module exposes `add_arguments(parser)`
and `async run(args) -> int`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from drivers.registry import check_config as check_driver_config
from gateway import __version__
from gateway.app import Gateway
from gateway.config import ConfigError, load_config
from gateway.foundation.charger_credentials import credential_warnings
from gateway.foundation.config import Config
from gateway.foundation.errors import StateFileDamaged
from gateway.foundation.logs import configure_logging
from gateway.outbox_db import OutboxDamaged, set_aside
from gateway.status import run_status
from gateway.web.hash_cli import run_hash_password

__all__ = ["LAZY_COMMANDS", "SIMULATORS", "LazyCommand", "main"]


@dataclass(frozen=True)
class LazyCommand:
    module: str
    """Imported only when this command runs; exposes `add_arguments` and `async run`."""
    help: str


LAZY_COMMANDS: dict[str, LazyCommand] = {
    "demo": LazyCommand("gateway.demo", "a whole simulated site on this machine"),
}
SIMULATORS: dict[str, LazyCommand] = {
    "charger": LazyCommand(
        "simulators.charger.cli", "charge-point simulator (OCPP 1.6J / 2.0.1 / 2.1)"
    ),
    "inverter": LazyCommand(
        "simulators.inverter.cli", "battery-inverter and meter simulator (Modbus TCP)"
    ),
    "control-centre": LazyCommand(
        "simulators.control_centre.cli",
        "a control centre watching every site on a broker: seq gaps, repeats, commands",
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(words)
    args = parser.parse_args(words)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130


def _parser(words: Sequence[str]) -> argparse.ArgumentParser:
    """The whole parser, importing only the lazy module of the command `words` name."""
    chosen = _positionals(words)
    parser = argparse.ArgumentParser(
        prog="pilebridge",
        description="Edge gateway for EV-charging and battery-storage sites.",
    )
    parser.add_argument("--version", action="version", version=f"pilebridge {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = sub.add_parser("run", help="run the gateway in the foreground")
    run.add_argument("-c", "--config", required=True, type=Path, help="YAML config file")
    run.add_argument(
        "--set-aside-damaged-outbox",
        action="store_true",
        help="if the outbox database is damaged, rename it to outbox.sqlite.damaged-<time> "
        "and start with an empty one (its undelivered records are lost)",
    )
    run.add_argument(
        "--set-aside-damaged-transactions",
        action="store_true",
        help="if transactions.sqlite is damaged, rename it to transactions.sqlite.damaged-<time> "
        "and start with a new one (open transactions are forgotten; 1.6 ids continue above "
        "every id handed out before)",
    )
    run.set_defaults(handler=_cmd_run)

    check = sub.add_parser(
        "check-config",
        help="validate a config file (exit 1 on any problem; warnings keep exit 0)",
    )
    check.add_argument("file", type=Path)
    check.set_defaults(handler=_cmd_check_config)

    hashpw = sub.add_parser(
        "hash-password", help="hash a password for http.users (reads it from the terminal or stdin)"
    )
    hashpw.set_defaults(handler=_cmd_hash_password)

    status = sub.add_parser("status", help="devices, connections, last values, outbox (on site)")
    status.add_argument(
        "-c", "--config", type=Path, help="config file (default /etc/pilebridge/pilebridge.yaml)"
    )
    status.add_argument("--url", help="health endpoint URL instead of the one in the config")
    status.add_argument("--json", action="store_true", help="print the raw health document")
    status.set_defaults(handler=_cmd_status)

    for name, command in LAZY_COMMANDS.items():
        _add_lazy(sub, name, command, load=chosen[:1] == [name])

    sim = sub.add_parser("sim", help="device simulators for integration testing")
    sim_sub = sim.add_subparsers(title="simulators", metavar="SIMULATOR")
    for name, command in SIMULATORS.items():
        _add_lazy(sim_sub, name, command, load=chosen[:2] == ["sim", name])
    return parser


def _positionals(words: Sequence[str]) -> list[str]:
    """The leading command words (`sim charger`); top-level options take no value."""
    out: list[str] = []
    for word in words:
        if word.startswith("-"):
            if out:
                break
            continue
        out.append(word)
    return out


def _add_lazy(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    command: LazyCommand,
    *,
    load: bool,
) -> None:
    parser = sub.add_parser(name, help=command.help)
    if not load:
        return
    module = importlib.import_module(command.module)
    module.add_arguments(parser)
    parser.set_defaults(handler=lambda args: int(asyncio.run(module.run(args))))


def load_checked_config(path: Path) -> Config:
    """The config with every driver's checks (register maps) added to the loader's own."""
    return load_config(path, checks=(check_driver_config,))


def _cmd_check_config(args: argparse.Namespace) -> int:
    try:
        config = load_checked_config(args.file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print(f"{args.file}: {len(exc.problems)} problem(s)", file=sys.stderr)
        return 1
    warnings = credential_warnings(config.ocpp)  # the ones `run`, /healthz and `status` give
    for warning in warnings:
        print(f"{args.file}: warning: {warning}", file=sys.stderr)
    noted = f", {len(warnings)} warning(s)" if warnings else ""
    print(
        f"{args.file}: OK (site {config.site.id}, {len(config.ocpp.chargers)} charger(s), "
        f"{len(config.modbus.devices)} Modbus device(s){noted})"
    )
    return 0  # warnings do not fail the check: the unit runs it before every start


def _cmd_run(args: argparse.Namespace) -> int:
    try:
        config = load_checked_config(args.config)
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
    transactions_db = config.state_dir / "transactions.sqlite"
    allowed: dict[type[StateFileDamaged], bool] = {OutboxDamaged: args.set_aside_damaged_outbox}
    try:
        while True:
            try:
                asyncio.run(Gateway(config).run())
                return 0
            except StateFileDamaged as exc:
                may = (
                    args.set_aside_damaged_transactions
                    if exc.path == transactions_db
                    else allowed.get(type(exc), False)
                )
                if not may:
                    raise
                moved = set_aside(exc.path)
                allowed[type(exc)] = False  # once per file and run
                if exc.path == transactions_db:
                    args.set_aside_damaged_transactions = False
                print(f"pilebridge: damaged {exc.path.name} moved to {moved}", file=sys.stderr)
    except StateFileDamaged as exc:
        print(f"pilebridge: cannot start: {exc}", file=sys.stderr)
        return 4  # systemd: RestartPreventExitStatus=4, no crash loop
    except OSError as exc:
        print(f"pilebridge: cannot start: {exc}", file=sys.stderr)
        return 3


def _cmd_hash_password(args: argparse.Namespace) -> int:
    return run_hash_password()


def _cmd_status(args: argparse.Namespace) -> int:
    return run_status(args.config, url=args.url, as_json=args.json)
