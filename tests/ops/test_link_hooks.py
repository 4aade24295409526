"""The MQTT link's two hooks for other components: extra subscriptions and direct publishes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiomqtt
import pytest

from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from tests.conftest import Collector
from tests.ops.helpers import running_gateway, wait_until


async def test_extra_subscription_gets_its_messages_and_commands_still_work(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    got: list[tuple[str, bytes]] = []
    arrived = asyncio.Event()

    async def handler(topic: str, payload: bytes) -> None:
        got.append((topic, payload))
        arrived.set()

    def hook(gateway: Gateway) -> None:
        assert gateway.link is not None
        gateway.link.subscribe_extra("ext/+/status", handler)

    config = make_config(mosquitto)
    async with running_gateway(config, hook) as gateway:
        await wait_until(lambda: gateway.link is not None and gateway.link.connected)
        base = gateway.topics.base
        async with (
            Collector(mosquitto.host, mosquitto.port, f"{base}/site/cmd/+/result") as results,
            aiomqtt.Client(mosquitto.host, mosquitto.port) as client,
        ):
            await client.publish("ext/a/status", b"online", qos=1)
            await client.publish("ext/a/other", b"ignored", qos=1)
            await client.publish(f"{base}/site/cmd/grid_limit", b'{"import_w": 1}', qos=1)
            await asyncio.wait_for(arrived.wait(), 10)
            await results.wait_for(lambda: bool(results.messages))
        assert got == [("ext/a/status", b"online")]
        assert results.json("/result")[0]["status"]  # the command path still answers


async def test_publish_direct_is_retained_when_asked_and_fails_when_offline(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    config = make_config(mosquitto)
    async with running_gateway(config) as gateway:
        link = gateway.link
        assert link is not None
        await wait_until(lambda: link.connected)
        await link.publish_direct("direct/x", b"hello", retain=True)
        async with Collector(mosquitto.host, mosquitto.port, "direct/#") as late:
            await late.wait_for(lambda: bool(late.messages))
            assert late.messages[0].payload == b"hello" and late.messages[0].retain
        assert gateway.outbox.last_seq == 0  # not through the outbox, no seq used
    with pytest.raises(aiomqtt.MqttError):
        await link.publish_direct("direct/x", b"late")
