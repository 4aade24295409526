"""A fleet of sites on a three-node NATS cluster, watched and commanded by a control centre.

N real gateways (`python -m gateway run`, one process per site), each with simulated chargers
(OCPP, charging) and a simulated battery (Modbus), publish through a three-node nats-server
cluster (MQTT 3.1.1, JetStream); the sites list the nodes in different orders, so their
connections spread over the cluster. The example control centre (`simulators.control_centre`)
subscribes on one node, discovers the sites from `gateway/info`, checks `seq` per site and
commands each site. Then the node most sites use is killed.

Figures: records/s per site and in all, the broker's CPU (all nodes) against the gateways',
command round trips through the cluster (p50/p99), and after the kill: how long each site's
records stopped (failover time), repeats, reordering and gaps after a settle time. Loopback
only; bounded in time.

    python -m bench.fleet_sites                       # 4 sites x 4 chargers, 30 s window
    python -m bench.fleet_sites --sites 8 --chargers 6 --window 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import yaml

from bench.common import process_cpu_s
from gateway.demo.broker import free_port
from gateway.foundation.logs import configure_logging
from simulators.charger import ChargerConfig, ChargerFleet, EvSpec, OcppVersion
from simulators.control_centre import ControlCentre
from simulators.inverter import BatteryParams, InverterSimulator
from tests.fleet.nats_cluster import NatsCluster

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "fleet"
NODELAY = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)


@dataclass
class Site:
    site_id: str
    hosts: list[str]
    ocpp_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    battery: InverterSimulator | None = None
    fleet: ChargerFleet | None = None
    proc: asyncio.subprocess.Process | None = None
    log: Path | None = None

    def config(self, state_dir: Path, chargers: int) -> dict[str, Any]:
        assert self.battery is not None
        return {
            "site": {"id": self.site_id},
            "state_dir": str(state_dir),
            "http": {"host": "127.0.0.1", "port": self.http_port},
            "logging": {"level": "info", "format": "json"},
            "mqtt": {
                "hosts": self.hosts,
                "protocol": "auto",
                "session_expiry_s": 3600,
                "topic_prefix": PREFIX,
                "reconnect_min_s": 0.2,
                "reconnect_max_s": 2.0,
            },
            "ocpp": {
                "host": "127.0.0.1",
                "port": self.ocpp_port,
                "authorize": {"accept_all": True},
                "chargers": [{"id": f"CP-{i + 1}", "max_power_w": 22000} for i in range(chargers)],
            },
            "modbus": {
                "devices": [
                    {
                        "id": "bess-1",
                        "kind": "storage",
                        "host": "127.0.0.1",
                        "port": self.battery.port,
                        "profile": "sunspec",
                        "poll_interval_s": 1.0,
                        "max_charge_w": 50000,
                        "max_discharge_w": 50000,
                    }
                ]
            },
        }


async def start_site(site: Site, workdir: Path, chargers: int, meter_interval_s: float) -> None:
    site.battery = InverterSimulator(
        profile="sunspec", device_id=f"{site.site_id}-bess", soc_pct=60.0,
        params=BatteryParams(capacity_wh=200_000, max_charge_w=50_000, max_discharge_w=50_000),
    )  # fmt: skip
    await site.battery.start()
    path = workdir / f"{site.site_id}.yaml"
    path.write_text(yaml.safe_dump(site.config(workdir / site.site_id, chargers)))
    site.log = workdir / f"{site.site_id}.log"
    with open(site.log, "ab") as log:
        site.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway", "run", "-c", str(path),
            cwd=ROOT, stdout=log, stderr=log,
        )  # fmt: skip
    site.fleet = ChargerFleet(
        [
            ChargerConfig(
                f"CP-{i + 1}", url=f"ws://127.0.0.1:{site.ocpp_port}/ocpp",
                ocpp_version=OcppVersion.V16 if i % 2 == 0 else OcppVersion.V201,
                max_power_w=11_000, meter_interval_s=meter_interval_s, time_scale=1.0,
                backoff_initial_s=0.2, backoff_max_s=1.0,
            )
            for i in range(chargers)
        ],
        stagger_s=0.05,
        ev=EvSpec(capacity_kwh=60, initial_soc_pct=20, max_charge_w=11_000),
    )  # fmt: skip
    await site.fleet.start()


async def plug_in_all(site: Site) -> None:
    assert site.fleet is not None
    await site.fleet.wait_booted(60)
    for sim in site.fleet:
        await sim.plug_in(1, id_tag=f"TAG-{site.site_id}-{sim.config.charger_id}")


async def stop_site(site: Site) -> None:
    if site.fleet is not None:
        await site.fleet.stop()
    if site.proc is not None and site.proc.returncode is None:
        site.proc.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(site.proc.wait(), 20)
    if site.battery is not None:
        await site.battery.stop()


def node_of(site: Site) -> str:
    """The node a site's log says it is connected to now."""
    assert site.log is not None
    node = ""
    for line in site.log.read_text(errors="replace").splitlines():
        if '"mqtt_connected"' in line:
            with contextlib.suppress(ValueError):
                node = json.loads(line).get("broker", node)
    return node


async def echo_round_trips(cluster: NatsCluster, count: int) -> list[float]:
    """The cluster's own round trip, no gateway: a client on the control centre's node asks,
    an echo client on another node answers (both QoS 1, MQTT 3.1.1), as a command and its
    result travel."""
    v311 = aiomqtt.ProtocolVersion.V311
    asker_node, echo_node = cluster.nodes[2], cluster.nodes[0]
    trips: list[float] = []
    async with (
        aiomqtt.Client(
            cluster.host, echo_node.mqtt_port, protocol=v311, socket_options=NODELAY
        ) as echo,
        aiomqtt.Client(
            cluster.host, asker_node.mqtt_port, protocol=v311, socket_options=NODELAY
        ) as asker,
    ):
        await echo.subscribe("bench-echo/request", qos=1)
        await asker.subscribe("bench-echo/response", qos=1)

        async def serve() -> None:
            async for message in echo.messages:
                await echo.publish("bench-echo/response", message.payload, qos=1)

        server = asyncio.create_task(serve())
        await asyncio.sleep(1.0)  # both subscriptions in place across the cluster
        try:
            for i in range(count):
                started = time.perf_counter()
                await asker.publish("bench-echo/request", str(i).encode(), qos=1)
                async for message in asker.messages:
                    if message.payload == str(i).encode():
                        break
                trips.append((time.perf_counter() - started) * 1000)
        finally:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server
    return trips


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def cpu_window(pids: list[int], seconds: float) -> float:
    """CPU seconds these processes used during the next `seconds`, as % of one core."""
    before = sum(process_cpu_s(p) for p in pids)
    await asyncio.sleep(seconds)
    return 100.0 * (sum(process_cpu_s(p) for p in pids) - before) / seconds


async def main(ns: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="pilebridge-fleet-"))
    cluster = NatsCluster(3)
    print(f"starting a 3-node NATS cluster ({cluster.binary})", flush=True)
    await cluster.start()
    nodes = cluster.mqtt_hosts
    sites = [
        Site(f"site-{i + 1:02d}", nodes[i % 3 :] + nodes[: i % 3]) for i in range(ns.sites)
    ]
    try:
        for site in sites:
            await start_site(site, workdir, ns.chargers, ns.meter_interval)
        centre_node = cluster.nodes[2]
        centre = ControlCentre(
            [(cluster.host, centre_node.mqtt_port)], PREFIX, mqtt5=False, settle_s=ns.settle
        )
        async with centre:
            found = await centre.wait_for_sites(ns.sites, 60)
            await asyncio.gather(*(plug_in_all(s) for s in sites))
            print(f"{len(found)} sites found by the control centre; charging", flush=True)
            await asyncio.sleep(5)  # let every session start

            # Steady state: rates and CPU.
            counts = {s: v.seq.records for s, v in centre.sites.items()}
            nats_pids = [n.proc.pid for n in cluster.nodes if n.proc is not None]
            gw_pids = [s.proc.pid for s in sites if s.proc is not None]
            start = time.monotonic()
            broker_cpu, gateways_cpu = await asyncio.gather(
                cpu_window(nats_pids, ns.window), cpu_window(gw_pids, ns.window)
            )
            elapsed = time.monotonic() - start
            rates = {
                s: (v.seq.records - counts.get(s, 0)) / elapsed for s, v in centre.sites.items()
            }

            # Commands through the cluster: each site, round-robin.
            trips: list[float] = []
            for i in range(ns.commands):
                site = sites[i % len(sites)]
                outcome = await centre.command(
                    site.site_id, "charger", "CP-1", "trigger", {"message": "StatusNotification"}
                )
                if outcome.result.get("status") == "accepted":
                    trips.append(outcome.round_trip_s * 1000)

            echo = await echo_round_trips(cluster, ns.commands)

            # Failover: kill the node most sites are on (never the control centre's).
            on_node = {s.site_id: node_of(s) for s in sites}
            candidates = [n for n in cluster.nodes if n is not centre_node]
            victim = max(
                candidates,
                key=lambda n: sum(v.endswith(f":{n.mqtt_port}") for v in on_node.values()),
            )
            moved = [s for s, v in on_node.items() if v.endswith(f":{victim.mqtt_port}")]
            before = {s: centre.sites[s].seq.records for s in moved}
            killed_at = time.monotonic()
            await cluster.kill(victim)
            resumed: dict[str, float] = {}
            async with asyncio.timeout(ns.failover_timeout):
                while len(resumed) < len(moved):
                    await asyncio.sleep(0.05)
                    for s in moved:
                        if s not in resumed and centre.sites[s].seq.records > before[s] + 1:
                            resumed[s] = time.monotonic() - killed_at
            await asyncio.sleep(ns.settle + 2)
            centre.check_gaps()

        # Report.
        total = sum(rates.values())
        print()
        print(f"fleet: {ns.sites} sites x {ns.chargers} chargers + 1 battery, NATS 3 nodes, "
              f"MQTT 3.1.1, meter values every {ns.meter_interval:g} s, window {elapsed:.0f} s")  # fmt: skip
        print(f"machine: {os.cpu_count()} cores")
        print(f"records/s: total {total:.1f}, per site min {min(rates.values()):.1f} "
              f"median {statistics.median(rates.values()):.1f} max {max(rates.values()):.1f}")  # fmt: skip
        print(f"CPU (% of one core): broker, 3 nodes together {broker_cpu:.1f} "
              f"({broker_cpu / max(total, 1e-9) * 10:.2f} ms per record); "
              f"gateways together {gateways_cpu:.1f}")  # fmt: skip
        print(f"command round trip through the cluster (trigger, {len(trips)} accepted of "
              f"{ns.commands}): p50 {pct(trips, 0.5):.1f} ms, p99 {pct(trips, 0.99):.1f} ms")  # fmt: skip
        print(f"  baseline, the cluster alone (echo client, same path, no gateway): "
              f"p50 {pct(echo, 0.5):.1f} ms, p99 {pct(echo, 0.99):.1f} ms")  # fmt: skip
        fo = sorted(resumed.values())
        print(f"failover: node {victim.name} killed, {len(moved)} sites on it; records resumed "
              f"after p50 {pct(fo, 0.5):.2f} s, max {max(fo, default=float('nan')):.2f} s")  # fmt: skip
        views = centre.sites
        print("per site: records, repeats dropped, out of order, gaps (seqs missing after "
              f"{ns.settle:g} s)")  # fmt: skip
        for s in sorted(views):
            v = views[s].seq
            print(f"  {s}: {v.records} records, {v.repeats} repeats, {v.out_of_order} "
                  f"out of order, {len(v.gaps)} gaps")  # fmt: skip
    finally:
        for site in sites:
            await stop_site(site)
        await cluster.stop()
        cluster.cleanup()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sites", type=int, default=4)
    p.add_argument("--chargers", type=int, default=4, help="per site")
    p.add_argument("--meter-interval", type=float, default=2.0, help="seconds, per charger")
    p.add_argument("--window", type=float, default=30.0, help="steady window, seconds")
    p.add_argument("--commands", type=int, default=40)
    p.add_argument("--settle", type=float, default=10.0, help="seconds before a missing seq is a gap")
    p.add_argument("--failover-timeout", type=float, default=60.0)
    return p.parse_args(argv)


if __name__ == "__main__":
    # The simulators in this process log every charger's steps; the figures are what matters.
    configure_logging("error", "console")
    asyncio.run(main(parse()))
