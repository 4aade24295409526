"""Options of `pilebridge demo` and the choice of broker (configured, private, or none)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

from gateway.demo.broker import PrivateMosquitto, broker_reachable, mosquitto_binary

__all__ = ["add_arguments", "choose_broker", "run_demo"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mqtt",
        metavar="HOST:PORT",
        help="broker to publish to (default: 127.0.0.1:1883 if reachable, else a private Mosquitto)",
    )
    parser.add_argument(
        "--chargers", type=int, default=3, metavar="N", help="simulated charge points (default 3)"
    )
    parser.add_argument(
        "--duration", type=float, metavar="S", help="stop after S seconds (default: until Ctrl-C)"
    )
    parser.add_argument("--no-ui", action="store_true", help="no live view; log lines only")
    parser.add_argument("--state-dir", type=Path, help="keep the outbox here (default: a temp dir)")


async def choose_broker(spec: str | None) -> tuple[str, int, PrivateMosquitto | None, str]:
    """(host, port, private broker or None, how it was chosen); port 0 means "no broker"."""
    if spec:
        host, _, port = spec.rpartition(":")
        return host or "127.0.0.1", int(port), None, f"MQTT broker {spec} (from --mqtt)"
    if await broker_reachable("127.0.0.1", 1883, 0.5):
        return "127.0.0.1", 1883, None, "MQTT broker 127.0.0.1:1883 (found running)"
    if mosquitto_binary():
        broker = PrivateMosquitto()
        await broker.start()
        return broker.host, broker.port, broker, f"private Mosquitto on {broker.host}:{broker.port}"
    return (
        "",
        0,
        None,
        "no MQTT broker: telemetry waits in the outbox (install mosquitto or pass --mqtt)",
    )


async def run_demo(args: argparse.Namespace) -> int:
    from gateway.demo.site import DemoSite

    host, port, private, how = await choose_broker(args.mqtt)
    state_dir = args.state_dir or Path(tempfile.mkdtemp(prefix="pilebridge-demo-"))
    print(f"pilebridge demo: {how}", file=sys.stderr)
    try:
        site = DemoSite(
            mqtt_host=host,
            mqtt_port=port,
            chargers=args.chargers,
            state_dir=state_dir,
        )
        return await site.run(duration_s=args.duration, ui=not args.no_ui)
    finally:
        if private is not None:
            with contextlib.suppress(Exception):
                await private.stop()
            private.cleanup()
