"""End to end: every message on the broker validates against the documented schemas."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.api_spec import CHANNELS, match_topic
from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from gateway.foundation.model import CommandRequest, CommandResult, DeviceKind
from tests.conftest import Collector
from tests.ops.helpers import running_gateway, wait_until
from tests.ops.schemas import validate_message
from tests.ops.test_api_docs import full_records

VALID_COMMANDS: dict[str, dict[str, Any]] = {
    "charger/CP%2F1/cmd/limit": {"id": "l1", "power_w": 7000, "evse": 1, "ttl_s": 60},
    "charger/CP%2F1/cmd/start": {"id_tag": "04A2B3", "evse": 1},
    "charger/CP%2F1/cmd/stop": {"transaction_id": "tx-1"},
    "charger/CP%2F1/cmd/availability": {"operative": False},
    "charger/CP%2F1/cmd/reset": {"type": "soft"},
    "charger/CP%2F1/cmd/unlock": {"evse": 1},
    "charger/CP%2F1/cmd/trigger": {"message": "StatusNotification"},
    "storage/bess-1/cmd/setpoint": {"id": 7, "power_w": -80000, "ttl_s": 30},
    "storage/bess-1/cmd/mode": {"mode": "manual"},
    "site/cmd/grid_limit": {"import_w": 100000},
}
INVALID_COMMANDS: dict[str, bytes] = {
    "storage/bess-1/cmd/setpoint": b"not json",
    "storage/bess-1/cmd/mode": b'{"mode": "turbo"}',
    "storage/nope/cmd/setpoint": b'{"power_w": 1}',
    "charger/CP%2F1/cmd/fly": b"{}",
}


async def clamp_setpoint(request: CommandRequest, args: Any) -> CommandResult:
    applied = max(-50000.0, min(50000.0, args.power_w))
    return CommandResult.accepted(applied_power_w=applied, clamped=applied != args.power_w)


def with_storage_handler(gateway: Gateway) -> None:
    gateway.router.register(DeviceKind.STORAGE, "setpoint", clamp_setpoint)
    gateway.router.add_device(DeviceKind.STORAGE, "bess-1")


async def test_every_published_message_matches_its_schema(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    config = make_config(mosquitto, ocpp={"enabled": False, "chargers": [{"id": "CP/1"}]})
    base = f"{config.mqtt.topic_prefix}/{config.site.id}"
    async with (
        Collector(mosquitto.host, mosquitto.port, f"{base}/#") as everything,
        Collector(mosquitto.host, mosquitto.port, "replies/#") as replies,
        running_gateway(config, with_storage_handler) as gateway,
    ):
        await wait_until(lambda: gateway.link is not None and gateway.link.connected)
        for record in full_records():
            gateway.recorder.record(record)
        async with aiomqtt.Client(
            mosquitto.host, mosquitto.port, protocol=aiomqtt.ProtocolVersion.V5
        ) as client:
            for suffix, body in VALID_COMMANDS.items():
                await client.publish(f"{base}/{suffix}", json.dumps(body), qos=1)
            for suffix, raw in INVALID_COMMANDS.items():
                await client.publish(f"{base}/{suffix}", raw, qos=1)
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            props.ResponseTopic = "replies/ems"
            props.CorrelationData = b"corr-42"
            await client.publish(
                f"{base}/storage/bess-1/cmd/setpoint",
                json.dumps({"id": "r-9", "power_w": 1000}),
                qos=1,
                properties=props,
            )
        results = len(VALID_COMMANDS) + len(INVALID_COMMANDS) + 1
        await everything.wait_for(lambda: len(everything.on("/result")) >= results)
        await everything.wait_for(lambda: len(everything.json("/site/telemetry")) >= 1)
        await replies.wait_for(lambda: bool(replies.messages))

    ours = {f"{base}/{suffix}" for suffix in INVALID_COMMANDS}
    seen: set[str] = set()
    for message in everything.messages:
        topic = str(message.topic)
        if topic in ours and not topic.endswith("/result"):
            continue  # the invalid requests this test sent on purpose
        assert isinstance(message.payload, bytes)
        seen.add(validate_message(topic, message.payload, gateway.topics))
    published = {c.schema for c in CHANNELS if c.direction == "publish"}
    assert published <= seen, f"never published: {published - seen}"

    reply = replies.messages[0]
    assert isinstance(reply.payload, bytes)
    result = json.loads(reply.payload)
    assert result["id"] == "r-9" and result["status"] == "accepted"
    assert reply.properties is not None
    assert reply.properties.CorrelationData == b"corr-42"  # type: ignore[attr-defined]
    found = match_topic(f"{base}/storage/bess-1/cmd/setpoint/result", gateway.topics)
    assert found is not None
    validate_message(f"{base}/storage/bess-1/cmd/setpoint/result", reply.payload, gateway.topics)

    clamped = [r for r in everything.json("/storage/bess-1/cmd/setpoint/result") if r["id"] == "7"]
    assert clamped and clamped[0]["detail"] == {"applied_power_w": -50000.0, "clamped": True}
    rejected = everything.json("/storage/bess-1/cmd/mode/result")
    assert rejected and all(r["status"] == "rejected" and r["reason"] for r in rejected)
    retained = {str(m.topic).rsplit("/", 1)[-1] for m in everything.messages if m.retain}
    assert retained <= {"availability", "info", "state", "config"}
    await asyncio.sleep(0)
