"""Options of `pilebridge demo`, the choice of broker (configured, private, or none), the run."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
import tempfile
from pathlib import Path

from gateway.demo.broker import PrivateMosquitto, broker_reachable, mosquitto_binary
from gateway.demo.site import DEMO_FIRMWARE, DemoSite
from gateway.demo.view import LiveView, TopicTap
from gateway.foundation.logs import configure_logging

__all__ = ["add_arguments", "choose_broker", "run_demo"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mqtt",
        metavar="HOST:PORT",
        help="broker to publish to (default: 127.0.0.1:1883 if reachable, else a private Mosquitto)",
    )
    parser.add_argument(
        "--chargers",
        type=int,
        default=4,
        metavar="N",
        help="simulated charge points, mixed OCPP 1.6J / 2.0.1 (default 4)",
    )
    parser.add_argument(
        "--duration", type=float, metavar="S", help="stop after S seconds (default: until Ctrl-C)"
    )
    parser.add_argument("--no-ui", action="store_true", help="no live view; log lines only")
    parser.add_argument("--state-dir", type=Path, help="keep the outbox here (default: a temp dir)")
    parser.add_argument(
        "--http-port",
        type=int,
        default=8080,
        metavar="PORT",
        help="web page and health port on 127.0.0.1 (default 8080; 0: any free port)",
    )


async def choose_broker(spec: str | None) -> tuple[str, int, PrivateMosquitto | None, str]:
    """(host, port, private broker or None, how it was chosen); port 0 means "no broker"."""
    if spec:
        host, _, port = spec.rpartition(":")
        return host or "127.0.0.1", int(port), None, f"MQTT broker {spec} (from --mqtt)"
    if await broker_reachable("127.0.0.1", 1883, 0.5):
        return "127.0.0.1", 1883, None, "MQTT broker 127.0.0.1:1883 (found running)"
    if mosquitto_binary():
        broker = PrivateMosquitto(persistence=False)
        await broker.start()
        return broker.host, broker.port, broker, f"private Mosquitto on {broker.host}:{broker.port}"
    return (
        "",
        0,
        None,
        "no MQTT broker: telemetry waits in the outbox (install mosquitto or pass --mqtt)",
    )


def meter_hint(page_url: str | None) -> list[str]:
    """How to make the grid meter go missing (the controller's fail-safe) and come back."""
    if page_url is None:
        return []
    return [
        f"meter:     curl -X POST {page_url}demo/grid-meter/off   (fail-safe; .../on: back)",
    ]


def hints(host: str, port: int) -> list[str]:
    if not port:
        return ["no broker: records wait in the outbox; start one and pass --mqtt HOST:PORT"]
    where = f"-h {host} -p {port}"
    return [
        f"watch:     mosquitto_sub {where} -t 'pilebridge/#' -v",
        f"setpoint:  mosquitto_pub {where} -t pilebridge/demo/storage/bess-1/cmd/setpoint "
        '-m \'{"id":"1","power_w":-20000,"ttl_s":60}\'',
        f"auto:      mosquitto_pub {where} -t pilebridge/demo/storage/bess-1/cmd/mode "
        '-m \'{"mode":"auto"}\'   (hand the battery to the site controller)',
        f"limit:     mosquitto_pub {where} -t pilebridge/demo/charger/CP-1/cmd/limit -m '{{\"power_w\":7000}}'",
        f"schedule:  mosquitto_pub {where} -t pilebridge/demo/charger/CP-2/cmd/limit "
        '-m \'{"evse":1,"schedule":[{"offset_s":0,"current_a":8},{"offset_s":60,"current_a":16}]}\'',
        f"composite: mosquitto_pub {where} -t pilebridge/demo/charger/CP-2/cmd/get_schedule "
        '-m \'{"evse":1,"duration_s":300}\'',
        f"results:   mosquitto_sub {where} -t 'pilebridge/demo/+/+/cmd/+/result' -v",
        f"events:    mosquitto_sub {where} -t pilebridge/demo/site/event -v"
        "   (grid_meter_lost / grid_meter_back, power targets)",
    ]


def _http_port(wanted: int) -> int:
    """The asked port if it is free on loopback, else any free one (the URL is printed)."""
    if not wanted:
        return 0
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", wanted))
        except OSError:
            print(
                f"pilebridge demo: port {wanted} is taken; the page gets a free port",
                file=sys.stderr,
            )
            return 0
    return wanted


async def run_demo(args: argparse.Namespace) -> int:
    ui = not args.no_ui and sys.stdout.isatty()
    host, port, private, how = await choose_broker(args.mqtt)
    state_dir = args.state_dir or Path(tempfile.mkdtemp(prefix="pilebridge-demo-"))
    # With the live view, logs go to a file so they do not tear the screen.
    log_path = state_dir / "demo.log"
    configure_logging("info", "json" if ui else "auto", stream=log_path.open("a") if ui else None)
    print(
        f"pilebridge demo: {how}; {args.chargers} chargers, 1 battery, 1 grid meter",
        file=sys.stderr,
    )
    for line in hints(host, port):
        print(f"  {line}", file=sys.stderr)
    site = DemoSite(
        mqtt_host=host,
        mqtt_port=port,
        chargers=args.chargers,
        state_dir=state_dir,
        http_port=_http_port(args.http_port),
    )
    tasks: list[asyncio.Task[None]] = []
    try:
        gateway = await site.start()
        page = f"web page:  {site.page_url}  (no login on loopback)"
        print(f"  {page}", file=sys.stderr)
        for line in meter_hint(site.page_url):
            print(f"  {line}", file=sys.stderr)
        if gateway.http is not None:
            print(
                f"  firmware:  {gateway.http.url}/files/{DEMO_FIRMWARE} (update_firmware);"
                f" log uploads land in {state_dir / 'uploads'}",
                file=sys.stderr,
            )
        serve = asyncio.create_task(gateway.serve(install_signal_handlers=True), name="gateway")
        tasks.append(asyncio.create_task(site.drive(), name="demo-driver"))
        if ui:
            tap = TopicTap(host, port) if port else None
            if tap:
                tasks.append(asyncio.create_task(tap.run(), name="demo-tap"))
            tasks.append(
                asyncio.create_task(
                    LiveView(
                        site, tap, [page, *meter_hint(site.page_url), *hints(host, port)]
                    ).run(),
                    name="demo-view",
                )
            )
        if args.duration is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(args.duration):
                    await asyncio.shield(serve)
        else:
            await asyncio.shield(serve)  # until Ctrl-C / SIGTERM stops the gateway
        for task in tasks:
            task.cancel()
        await site.stop()
        await serve
        if ui:
            print(f"logs: {log_path}", file=sys.stderr)
        return 0
    finally:
        for task in tasks:
            task.cancel()
        if private is not None:
            with contextlib.suppress(Exception):
                await private.stop()
            private.cleanup()
