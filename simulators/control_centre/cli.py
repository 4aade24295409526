"""`pilebridge sim control-centre`: watch every site on a broker (cluster), optionally command one.

Prints, every `--every` seconds, each site found from its retained `gateway/info`: records per
second, repeats dropped, records that came out of order, gaps (seqs still missing after
`--settle` seconds), availability. `--trigger SITE/CHARGER` sends a `trigger` command
(StatusNotification) to that charger each round and prints its round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from gateway.foundation.config import split_broker_address
from simulators.control_centre.client import ControlCentre

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mqtt",
        default="127.0.0.1:1883",
        help="broker HOST:PORT, or several comma-separated (the nodes of a cluster)",
    )
    parser.add_argument("--prefix", default="pilebridge", help="the sites' mqtt.topic_prefix")
    parser.add_argument("--mqtt-version", choices=("5", "3.1.1"), default="5")
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--duration", type=float, default=0, help="seconds; 0: until Ctrl-C")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between reports")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds before a gap counts")
    parser.add_argument("--trigger", metavar="SITE/CHARGER", help="command this charger each round")


async def run(args: argparse.Namespace) -> int:
    brokers = [split_broker_address(a.strip()) for a in args.mqtt.split(",") if a.strip()]
    centre = ControlCentre(
        brokers,
        args.prefix,
        mqtt5=args.mqtt_version == "5",
        username=args.username,
        password=args.password,
        settle_s=args.settle,
    )
    deadline = time.monotonic() + args.duration if args.duration > 0 else None
    async with centre:
        print(f"connected to {centre.broker}; watching {args.prefix}/+/#", flush=True)
        counts: dict[str, int] = {}
        while deadline is None or time.monotonic() < deadline:
            await asyncio.sleep(args.every)
            centre.check_gaps()
            for site_id, view in sorted(centre.sites.items()):
                rate = (view.seq.records - counts.get(site_id, 0)) / args.every
                counts[site_id] = view.seq.records
                print(
                    f"{site_id:<24} {view.availability or '?':<8} {rate:8.1f} rec/s  "
                    f"seq<={view.seq.highest:<8} repeats {view.seq.repeats:<6} "
                    f"reordered {view.seq.out_of_order:<5} gaps {len(view.seq.gaps)}",
                    flush=True,
                )
            if args.trigger:
                site_id, _, charger = args.trigger.partition("/")
                try:
                    outcome = await centre.command(
                        site_id, "charger", charger, "trigger", {"message": "StatusNotification"}
                    )
                    print(
                        f"trigger {args.trigger}: {outcome.result.get('status')} "
                        f"in {outcome.round_trip_s * 1000:.1f} ms",
                        flush=True,
                    )
                except TimeoutError:
                    print(f"trigger {args.trigger}: no result in 30 s", flush=True)
    return 0
