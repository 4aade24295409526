"""Hostile commands and a strict broker against a real Mosquitto: every command is answered,
none blocks the next, retained commands never run, a record the broker refuses blocks nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from gateway.foundation.model import (
    ChargerEvent,
    ChargerId,
    ChargerTelemetry,
    CommandRequest,
    CommandResult,
    DeviceKind,
    TransactionEvent,
)
from tests.conftest import Collector, running_gateway


class Charger:
    """Stands in for the OCPP driver's reset handler; counts what it executed."""

    def __init__(self) -> None:
        self.executed: list[CommandRequest] = []

    async def reset(self, request: CommandRequest, args: Any) -> CommandResult:
        self.executed.append(request)
        return CommandResult.accepted()


def with_charger(charger: Charger) -> Callable[[Gateway], None]:
    def setup(gateway: Gateway) -> None:
        gateway.router.register(DeviceKind.CHARGER, "reset", charger.reset)
        gateway.router.add_device(DeviceKind.CHARGER, "CP-1")

    return setup


async def connected(gateway: Gateway) -> None:
    async with asyncio.timeout(20):
        while not (gateway.link and gateway.link.connected):
            await asyncio.sleep(0.02)


def client(broker: PrivateMosquitto) -> aiomqtt.Client:
    return aiomqtt.Client(
        broker.host,
        broker.port,
        protocol=aiomqtt.ProtocolVersion.V5,
        identifier=f"cc-{uuid.uuid4().hex[:6]}",
    )


@pytest.fixture
async def site(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> AsyncIterator[tuple[Gateway, Charger, aiomqtt.Client, Collector]]:
    charger = Charger()
    config = make_config(mosquitto)
    async with running_gateway(config, with_charger(charger)) as gateway:
        await connected(gateway)
        results = f"{gateway.topics.base}/+/+/cmd/+/result"
        async with (
            Collector(mosquitto.host, mosquitto.port, results) as collector,
            client(mosquitto) as control_centre,
        ):
            yield gateway, charger, control_centre, collector


HOSTILE = {
    "5000-digit id": b'{"id": ' + b"7" * 5000 + b', "type": "soft"}',
    "5000-char id": b'{"id": "' + b"x" * 5000 + b'", "type": "soft"}',
    "5000-deep array": b"[" * 5000 + b"]" * 5000,
    "5000-deep in a field": b'{"type": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "invalid UTF-8": b'{"type": "soft\xff\xfe"}',
    "NaN": b'{"id": NaN, "type": "soft"}',
    "Infinity in a field": b'{"type": "soft", "x": 1e999}',
    "huge": b'{"type": "soft", "pad": "' + b"a" * 200_000 + b'"}',
    "not an object": b'"reset"',
    "lone surrogate": b'{"type": "\\ud800"}',
    "boolean id": b'{"id": true, "type": "soft"}',
}


async def command(
    site: tuple[Gateway, Charger, aiomqtt.Client, Collector],
    payload: bytes,
    properties: Properties | None = None,
    retain: bool = False,
    name: str = "reset",
) -> dict[str, Any]:
    gateway, _, control_centre, collector = site
    before = len(collector.messages)
    topic = f"{gateway.topics.base}/charger/CP-1/cmd/{name}"
    await control_centre.publish(topic, payload, qos=1, properties=properties, retain=retain)
    await collector.wait_for(lambda: len(collector.messages) > before, timeout=20)
    return json.loads(collector.messages[before].payload)  # type: ignore[arg-type]


@pytest.mark.parametrize("payload", list(HOSTILE.values()), ids=list(HOSTILE))
async def test_every_hostile_command_is_rejected_and_the_next_one_runs(
    site: tuple[Gateway, Charger, aiomqtt.Client, Collector], payload: bytes
) -> None:
    result = await command(site, payload)
    assert result["status"] == "rejected", result
    assert result["reason"] and len(result["reason"]) < 1000
    ok = await command(site, b'{"id": "after", "type": "soft"}')
    assert ok["status"] == "accepted" and ok["id"] == "after"
    assert [r.request_id for r in site[1].executed] == ["after"]


def response_props(topic: str, correlation: bytes | None = None) -> Properties:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.ResponseTopic = topic
    if correlation is not None:
        props.CorrelationData = correlation
    return props


@pytest.mark.parametrize("topic", ["cc/+/replies", "cc/#", "cc/a+b"])
async def test_an_invalid_response_topic_rejects_the_command(
    site: tuple[Gateway, Charger, aiomqtt.Client, Collector], topic: str
) -> None:
    result = await command(site, b'{"id": "r", "type": "soft"}', response_props(topic))
    assert result["status"] == "rejected" and "response topic" in result["reason"]
    assert site[1].executed == []
    ok = await command(site, b'{"id": "after", "type": "soft"}')
    assert ok["status"] == "accepted"


async def test_a_response_topic_inside_the_gateways_tree_is_not_used(
    site: tuple[Gateway, Charger, aiomqtt.Client, Collector], mosquitto: PrivateMosquitto
) -> None:
    gateway = site[0]
    forged = f"{gateway.topics.base}/charger/CP-1/transaction"
    async with Collector(mosquitto.host, mosquitto.port, forged) as billing:
        result = await command(site, b'{"id": "f", "type": "soft"}', response_props(forged))
        assert result["status"] == "accepted"
        assert "own tree" in result["detail"]["response_topic"]
        await asyncio.sleep(0.5)  # a forged record would have arrived by now
        assert billing.messages == []


@pytest.mark.parametrize("correlation", [b"", b"\x00" * 1000, bytes(range(256))])
async def test_odd_correlation_data_is_echoed_on_the_response_topic(
    site: tuple[Gateway, Charger, aiomqtt.Client, Collector],
    mosquitto: PrivateMosquitto,
    correlation: bytes,
) -> None:
    async with Collector(mosquitto.host, mosquitto.port, "cc/replies") as replies:
        result = await command(
            site, b'{"id": "c", "type": "soft"}', response_props("cc/replies", correlation)
        )
        assert result["status"] == "accepted"
        await replies.wait_for(lambda: bool(replies.messages))
        echoed = getattr(replies.messages[0].properties, "CorrelationData", b"")
        assert (echoed or b"") == correlation


async def test_retained_commands_are_never_executed_and_are_answered(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    charger = Charger()
    config = make_config(mosquitto)
    base = f"{config.mqtt.topic_prefix}/{config.site.id}"
    topic = f"{base}/charger/CP-1/cmd/reset"
    async with client(mosquitto) as control_centre:
        # A careless control centre leaves a Reset Hard retained on the broker.
        await control_centre.publish(topic, b'{"id": "old", "type": "hard"}', qos=1, retain=True)
    async with (
        Collector(mosquitto.host, mosquitto.port, f"{topic}/result") as results,
        running_gateway(config, with_charger(charger)) as gateway,
    ):
        await connected(gateway)
        for _ in range(2):  # two reconnects: a clean session and fresh subscriptions each
            connects = gateway.link.connects if gateway.link else 0
            await mosquitto.restart()
            async with asyncio.timeout(20):
                while not gateway.link or gateway.link.connects == connects:
                    await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)  # a retained command sent on subscribe would be in by now
        # One published with the retain flag while the gateway listens: answered, not run.
        async with client(mosquitto) as control_centre:
            await control_centre.publish(
                topic, b'{"id": "new", "type": "hard"}', qos=1, retain=True
            )
        await results.wait_for(lambda: any(r["id"] == "new" for r in results.json("/result")))
        await asyncio.sleep(0.3)
    assert charger.executed == []
    (answer,) = results.json("/result")
    assert answer["status"] == "rejected"
    assert answer["reason"] == "retained commands are not executed"


async def test_a_record_larger_than_the_brokers_maximum_packet_blocks_nothing(
    make_config: Callable[..., Config],
) -> None:
    broker = PrivateMosquitto(extra_config=["max_packet_size 8192"])
    await broker.start()
    try:
        config = make_config(broker, mqtt={"max_record_bytes": 1024 * 1024})
        topic = f"{config.mqtt.topic_prefix}/{config.site.id}/charger/#"
        async with (
            Collector(broker.host, broker.port, topic) as collector,
            running_gateway(config) as gateway,
        ):
            await connected(gateway)
            cp = ChargerId("CP-1")
            rec = gateway.recorder
            rec.record(ChargerTelemetry(cp, 1, power_w=1.0))
            dump = {"vendor_id": "ACME", "data": "z" * 100_000}
            rec.record(ChargerEvent(cp, "data_transfer", dump))
            # Nothing to cut in a transaction: it cannot go, and must not hold up the rest.
            rec.record(TransactionEvent(cp, "started", "tx-1", 1, id_tag="t" * 20_000))
            for i in range(2, 50):
                rec.record(ChargerTelemetry(cp, 1, power_w=float(i)))
            await collector.wait_for(lambda: len(collector.on("/telemetry")) == 49, timeout=30)
            (event,) = collector.json("/event")
            assert event["data_truncated"] is True and event["data"]["vendor_id"] == "ACME"
            assert collector.on("/transaction") == []
            async with asyncio.timeout(20):  # counted once the move is committed
                while gateway.outbox.dead_letters != 1:
                    await asyncio.sleep(0.02)
            _, doc = gateway.health.document()
            assert doc["outbox"]["dead_letters"] == 1
            assert any("dead-letter" in p for p in doc["problems"])
            assert gateway.link is not None and gateway.link.connects == 1  # never dropped
    finally:
        await broker.stop()
        broker.cleanup()
