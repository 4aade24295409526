"""A site on a three-node NATS cluster (MQTT 3.1.1 only): the node it uses dies mid-session.

The gateway is configured with every node (`mqtt.hosts`) and `protocol: auto`; NATS refuses
MQTT 5, so the gateway falls back to 3.1.1 (logged once). Chargers charge through it; the
control centre subscribes on a node that survives. Killing the gateway's node must not cost a
record: telemetry resumes through another node, `seq` has no gap after dropping repeats, and
commands keep working.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiomqtt
import pytest
import structlog

from gateway.demo.broker import free_port
from gateway.foundation.config import Config
from simulators.charger import ChargerConfig, ChargerFleet, EvSpec, OcppVersion
from tests.conftest import Collector, open_ocpp, running_gateway
from tests.fleet.nats_cluster import NatsCluster, nats_binary
from tests.fleet.waits import drained, seq_arrived, wait_until
from tests.seq_check import assert_no_gap, deduped

pytestmark = [
    pytest.mark.skipif(nats_binary() is None, reason="nats-server is not installed"),
    pytest.mark.timeout(240),
]


@pytest.fixture
async def cluster() -> AsyncIterator[NatsCluster]:
    nats = NatsCluster(3)
    try:
        await nats.start()
        yield nats
    finally:
        await nats.stop()
        nats.cleanup()


def site_config(make_config: Callable[..., Config], cluster: NatsCluster, ocpp_port: int) -> Config:
    config = make_config(
        None,
        ocpp=open_ocpp(ocpp_port),
    )
    raw = json.loads(config.model_dump_json(exclude_none=True))
    del raw["mqtt"]["host"], raw["mqtt"]["port"]
    # A persistent session: on a NATS cluster the gateway's subscriptions then survive the
    # loss of its node (docs/fleet.md); a clean session would need new JetStream consumers
    # just while the cluster is short of a node.
    raw["mqtt"] |= {
        "enabled": True,
        "hosts": cluster.mqtt_hosts,
        "protocol": "auto",
        "session_expiry_s": 3600,
    }
    return Config.model_validate(raw)


def chargers(ocpp_port: int) -> ChargerFleet:
    return ChargerFleet(
        [
            ChargerConfig(
                f"CP-{i}", url=f"ws://127.0.0.1:{ocpp_port}/ocpp", ocpp_version=version,
                max_power_w=11_000, meter_interval_s=6.0, time_scale=30.0,
                backoff_initial_s=0.1, backoff_max_s=0.5, response_timeout_s=10,
            )
            for i, version in enumerate((OcppVersion.V16, OcppVersion.V201), start=1)
        ],
        stagger_s=0,
        seed=3,
        ev=EvSpec(capacity_kwh=60, initial_soc_pct=20, max_charge_w=11_000),
    )  # fmt: skip


async def command(
    cluster: NatsCluster, port: int, seen: Collector, prefix: str, charger: str, request_id: str
) -> dict[str, Any]:
    """`trigger` a charger through `port`'s node; its result, as the control centre sees it."""
    topic = f"{prefix}/charger/{charger}/cmd/trigger"
    body = {"id": request_id, "message": "StatusNotification"}
    async with aiomqtt.Client(cluster.host, port, protocol=aiomqtt.ProtocolVersion.V311) as client:
        await client.publish(topic, json.dumps(body).encode(), qos=1)

    def results() -> list[dict[str, Any]]:
        return [r for r in seen.json("/cmd/trigger/result") if r.get("id") == request_id]

    await seen.wait_for(lambda: bool(results()), 60)
    return results()[0]


async def test_killing_the_gateways_node_loses_no_record(
    cluster: NatsCluster, make_config: Callable[..., Config]
) -> None:
    ocpp_port = free_port()
    config = site_config(make_config, cluster, ocpp_port)
    prefix = f"{config.mqtt.topic_prefix}/{config.site.id}"
    survivor = cluster.nodes[2]
    fleet = chargers(ocpp_port)
    with structlog.testing.capture_logs() as logs:
        async with (
            Collector(cluster.host, survivor.mqtt_port, f"{prefix}/#", mqtt5=False) as seen,
            running_gateway(config) as gateway,
        ):
            try:
                await seen.wait_for(lambda: bool(seen.on("/gateway/availability")), 30)
                link = gateway.link
                assert link is not None and link.broker is not None
                first = link.broker
                assert first.protocol == "3.1.1"
                await fleet.start()
                await fleet.wait_booted(30)
                for sim in fleet:
                    assert await sim.plug_in(1, id_tag=f"TAG-{sim.config.charger_id}")
                await seen.wait_for(lambda: len(seen.on("/telemetry")) >= 6, 30)
                before = await command(cluster, survivor.mqtt_port, seen, prefix, "CP-1", "before")
                assert before["status"] == "accepted", before

                await cluster.kill(cluster.node_on_port(first.port))
                await wait_until(lambda: link.connected and link.broker != first, 60)
                telemetry_then = len(seen.on("/telemetry"))
                await seen.wait_for(lambda: len(seen.on("/telemetry")) >= telemetry_then + 6, 60)
                after = await command(cluster, survivor.mqtt_port, seen, prefix, "CP-2", "after")
                assert after["status"] == "accepted", after
            finally:
                await fleet.stop()
            last_seq = await drained(gateway)
            await seq_arrived(seen, last_seq)
    assert_no_gap(deduped(seen), last_seq)
    fallbacks = [e for e in logs if e["event"] == "mqtt_protocol_fallback"]
    assert len(fallbacks) == len({e["broker"] for e in fallbacks}) >= 1  # once per broker
    assert [e["log_level"] for e in fallbacks][:1] == ["warning"]  # a warning only the first time
    assert all(e["log_level"] == "info" for e in fallbacks[1:])
    assert all("protocol" in e["reason"].lower() for e in fallbacks)
