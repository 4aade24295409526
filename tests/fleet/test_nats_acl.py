"""Per-site credentials on a NATS broker: config/nats-acl.example, included as it is shipped.

The gateway of lingang-01 logs in as its own user, publishes its tree and takes commands; the
site's control centre reads everything of its site and may only send commands. Neither can
write into another site's tree, and a control centre cannot forge a site's telemetry.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiomqtt
import pytest

from gateway.foundation.config import Config
from tests.conftest import Collector, running_gateway
from tests.fleet.nats_cluster import NatsCluster, nats_binary

pytestmark = [
    pytest.mark.skipif(nats_binary() is None, reason="nats-server is not installed"),
    pytest.mark.timeout(120),
]

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "nats-acl.example"
GATEWAY = ("pilebridge-lingang-01", "gateway-lingang-01-change-me")
CENTRE = ("cc-lingang-01", "centre-lingang-01-change-me")
OTHER_CENTRE = ("cc-lingang-02", "centre-lingang-02-change-me")
V311 = aiomqtt.ProtocolVersion.V311


@pytest.fixture
async def nats() -> AsyncIterator[NatsCluster]:
    cluster = NatsCluster(1, authorization_file=EXAMPLE, probe_user=CENTRE)
    try:
        await cluster.start()
        yield cluster
    finally:
        await cluster.stop()
        cluster.cleanup()


def gateway_config(make_config: Callable[..., Config], nats: NatsCluster) -> Config:
    raw = json.loads(make_config(None).model_dump_json(exclude_none=True))
    raw["site"]["id"] = "lingang-01"
    raw["mqtt"] |= {
        "enabled": True,
        "topic_prefix": "pilebridge",
        "port": nats.nodes[0].mqtt_port,
        "protocol": "3.1.1",
        "username": GATEWAY[0],
        "password": GATEWAY[1],
    }
    return Config.model_validate(raw)


async def test_each_party_reaches_only_what_the_example_allows(
    nats: NatsCluster, make_config: Callable[..., Config]
) -> None:
    port = nats.nodes[0].mqtt_port
    config = gateway_config(make_config, nats)
    tree = "pilebridge/lingang-01"
    async with (
        Collector(nats.host, port, f"{tree}/#", mqtt5=False, auth=CENTRE) as centre,
        Collector(nats.host, port, "pilebridge/#", mqtt5=False, auth=OTHER_CENTRE) as other,
        running_gateway(config),
    ):
        await centre.wait_for(lambda: bool(centre.on("/gateway/info")), 60)

        # The control centre commands its site and gets the result (sent again while none
        # came: on a loaded machine the cluster may still be setting up a subscription).
        async with aiomqtt.Client(nats.host, port, protocol=V311, username=CENTRE[0],
                                  password=CENTRE[1]) as cc:  # fmt: skip
            body = {"id": "c1", "import_w": 50_000, "ttl_s": 60}
            async with asyncio.timeout(60):
                while not centre.on("/grid_limit/result"):
                    await cc.publish(
                        f"{tree}/site/cmd/grid_limit", json.dumps(body).encode(), qos=1
                    )
                    with contextlib.suppress(TimeoutError):
                        await centre.wait_for(lambda: bool(centre.on("/grid_limit/result")), 5)
            # A forged record in the site's tree is acknowledged but delivered to no one.
            await cc.publish(f"{tree}/charger/CP-1/transaction", b'{"seq":1}', qos=1)
        assert centre.json("/grid_limit/result")[0]["id"] == "c1"

        # The gateway's user cannot write into another site's tree.
        async with aiomqtt.Client(nats.host, port, protocol=V311, username=GATEWAY[0],
                                  password=GATEWAY[1]) as gw:  # fmt: skip
            await gw.publish("pilebridge/lingang-02/charger/CP-9/transaction", b"{}", qos=1)

        await asyncio.sleep(1.0)  # time for anything that should not arrive to arrive
    assert not centre.on("/transaction")
    assert not other.messages, "another site's control centre read lingang-01 or a forgery"


async def test_wrong_password_is_refused(nats: NatsCluster) -> None:
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(
            nats.host, nats.nodes[0].mqtt_port, protocol=V311,
            username=GATEWAY[0], password="not-the-password", timeout=5,
        ):  # fmt: skip
            pass
