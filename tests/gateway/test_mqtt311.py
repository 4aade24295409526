"""The gateway on an MQTT 3.1.1 connection (`mqtt.protocol: 3.1.1`), against a real Mosquitto.

What 3.1.1 lacks, the gateway does without: results go to `.../result` only, a retained command
is answered `rejected` at every subscribe and never executed, a persistent session is
`clean_session = false` and keeps the commands sent while the gateway was away.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import aiomqtt
import pytest

from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from gateway.foundation.model import CommandRequest, CommandResult, DeviceKind
from tests.conftest import Collector, running_gateway

V311 = aiomqtt.ProtocolVersion.V311
pytestmark = pytest.mark.timeout(90)


def config_311(make_config: Callable[..., Config], broker: PrivateMosquitto, **mqtt: Any) -> Config:
    return make_config(
        broker, mqtt={"protocol": "3.1.1", "session_expiry_s": 3600, "client_id": "gw-311", **mqtt}
    )


def counting(calls: list[CommandRequest]) -> Callable[[Gateway], object]:
    """Register a site command that records each execution (the router's own `grid_limit`
    would need a site controller; the point here is only whether a command ran)."""

    async def handler(request: CommandRequest, args: Any) -> CommandResult:
        calls.append(request)
        return CommandResult.accepted()

    def install(gateway: Gateway) -> object:
        gateway.router.register(DeviceKind.SITE, "grid_limit", handler)
        return None

    return install


async def publish(
    broker: PrivateMosquitto, topic: str, body: dict[str, Any], *, retain: bool = False
) -> None:
    async with aiomqtt.Client(broker.host, broker.port, protocol=V311) as client:
        await client.publish(topic, json.dumps(body).encode(), qos=1, retain=retain)


async def test_results_on_the_result_topic_and_a_retained_command_never_runs(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    config = config_311(make_config, mosquitto)
    tree = f"{config.mqtt.topic_prefix}/{config.site.id}"
    topic = f"{tree}/site/cmd/grid_limit"
    await publish(mosquitto, topic, {"id": "old", "import_w": 40_000}, retain=True)
    calls: list[CommandRequest] = []
    async with Collector(mosquitto.host, mosquitto.port, f"{topic}/result", mqtt5=False) as results:
        async with running_gateway(config, counting(calls)) as gateway:
            assert gateway.link is not None
            await results.wait_for(lambda: bool(results.json("/result")), 30)
            assert gateway.link.broker is not None and gateway.link.broker.protocol == "3.1.1"
            await publish(mosquitto, topic, {"id": "live", "import_w": 50_000})
            await results.wait_for(
                lambda: any(r["id"] == "live" for r in results.json("/result")), 30
            )
        answers = {r["id"]: r for r in results.json("/result")}
    assert answers["old"]["status"] == "rejected"
    assert "retained" in answers["old"]["reason"]
    assert answers["live"]["status"] == "accepted"
    assert [c.request_id for c in calls] == ["live"]


async def test_a_persistent_session_keeps_commands_sent_while_the_gateway_was_away(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    config = config_311(make_config, mosquitto)
    tree = f"{config.mqtt.topic_prefix}/{config.site.id}"
    topic = f"{tree}/site/cmd/grid_limit"
    calls: list[CommandRequest] = []

    def answered(request_id: str) -> Callable[[], bool]:
        return lambda: any(r["id"] == request_id for r in results.json("/result"))

    async with Collector(mosquitto.host, mosquitto.port, f"{topic}/result", mqtt5=False) as results:
        async with running_gateway(config, counting(calls)):
            # Once one is answered, the gateway's session and subscriptions are on the broker
            # (sent again until then: one sent before the gateway subscribed reaches no one).
            while not answered("first")():
                await publish(mosquitto, topic, {"id": "first", "import_w": 40_000})
                with contextlib.suppress(TimeoutError):
                    await results.wait_for(answered("first"), 2)
        await publish(mosquitto, topic, {"id": "while-away", "import_w": 45_000})
        async with running_gateway(config, counting(calls)):
            await results.wait_for(answered("while-away"), 30)
    assert [c.request_id for c in calls][-1] == "while-away"
    assert {c.request_id for c in calls} == {"first", "while-away"}


async def test_the_last_will_says_offline_under_311(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    config = config_311(make_config, mosquitto, keepalive_s=5)
    tree = f"{config.mqtt.topic_prefix}/{config.site.id}"
    async with (
        Collector(
            mosquitto.host, mosquitto.port, f"{tree}/gateway/availability", mqtt5=False
        ) as seen,
        running_gateway(config) as gateway,
    ):
        await seen.wait_for(
            lambda: bool(seen.messages) and seen.messages[-1].payload == b"online", 30
        )
        assert gateway.link is not None and gateway.link._client is not None
        # Drop the socket without DISCONNECT, as a crash or a cut cable would.
        gateway.link._client._client.socket().close()
        await seen.wait_for(lambda: seen.messages[-1].payload == b"offline", 30)
