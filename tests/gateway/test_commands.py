"""Command intake against a real Mosquitto: routing, validation, results, response topics."""

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

from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.commands.schemas import SetpointCommand
from gateway.foundation.config import Config
from gateway.foundation.model import CommandRequest, CommandResult, DeviceKind
from tests.conftest import Collector, running_gateway


class FakeStorageDriver:
    """Stands in for a driver's command handlers; records what reached it."""

    def __init__(self) -> None:
        self.received: list[tuple[CommandRequest, Any]] = []

    async def setpoint(self, request: CommandRequest, args: SetpointCommand) -> CommandResult:
        self.received.append((request, args))
        if args.power_w == 666:
            raise RuntimeError("device exploded")
        return CommandResult.accepted(applied_power_w=args.power_w)


@pytest.fixture
async def site(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> AsyncIterator[tuple[Any, FakeStorageDriver, aiomqtt.Client]]:
    config = make_config(mosquitto)
    async with running_gateway(config) as gateway:
        driver = FakeStorageDriver()
        gateway.router.register(DeviceKind.STORAGE, "setpoint", driver.setpoint)  # type: ignore[arg-type]
        gateway.router.add_device(DeviceKind.STORAGE, "bess-1")
        while not (gateway.link and gateway.link.connected):
            await asyncio.sleep(0.02)
        async with aiomqtt.Client(
            mosquitto.host,
            mosquitto.port,
            protocol=aiomqtt.ProtocolVersion.V5,
            identifier=f"cc-{uuid.uuid4().hex[:6]}",
        ) as control_centre:
            yield gateway, driver, control_centre


async def send(
    site: tuple[Any, FakeStorageDriver, aiomqtt.Client], path: str, payload: bytes | str
) -> dict[str, Any]:
    gateway, _, client = site
    topic = f"{gateway.topics.base}/{path}"
    async with Collector("127.0.0.1", gateway.config.mqtt.port, f"{topic}/result") as results:
        await client.publish(topic, payload, qos=1)
        await results.wait_for(lambda: bool(results.messages))
        return json.loads(results.messages[0].payload)  # type: ignore[arg-type]


async def test_valid_setpoint_reaches_the_handler_and_is_accepted(site: Any) -> None:
    result = await send(
        site, "storage/bess-1/cmd/setpoint", json.dumps({"id": "r1", "power_w": -5000, "ttl_s": 30})
    )
    assert result["id"] == "r1"
    assert result["status"] == "accepted"
    assert result["detail"] == {"applied_power_w": -5000}
    assert result["ts"].endswith("Z")
    request, args = site[1].received[0]
    assert request.device_id == "bess-1" and request.request_id == "r1"
    assert args.power_w == -5000 and args.ttl_s == 30


@pytest.mark.parametrize(
    ("path", "payload", "reason_part"),
    [
        ("storage/bess-1/cmd/setpoint", b"{not json", "payload is not JSON"),
        ("storage/bess-1/cmd/setpoint", b"[1, 2]", "payload must be a JSON object"),
        ("storage/bess-1/cmd/setpoint", b'{"id": "x"}', "power_w: Field required"),
        (
            "storage/bess-1/cmd/setpoint",
            b'{"power_w": "lots"}',
            "power_w: Input should be a valid number",
        ),
        (
            "storage/bess-1/cmd/setpoint",
            b'{"power_w": 1e12}',
            "power_w: Input should be less than or equal to",
        ),
        ("storage/bess-1/cmd/setpoint", b'{"power_w": 10, "ttl": 5}', "ttl: unknown field"),
        (
            "storage/bess-1/cmd/setpoint",
            b'{"power_w": 10, "ttl_s": -1}',
            "ttl_s: Input should be greater than 0",
        ),
        ("storage/bess-1/cmd/setpoint", b'{"power_w": NaN}', "power_w"),
        ("storage/bess-1/cmd/setpoint", b"\xff\xfe", "payload is not JSON"),
        (
            "storage/bess-1/cmd/setpoint",
            b'{"id": {"a": 1}, "power_w": 1}',
            "id must be a string of at most 128 characters or a 64-bit integer",
        ),
        ("storage/bess-9/cmd/setpoint", b'{"power_w": 10}', "unknown storage 'bess-9'"),
        ("storage/bess-1/cmd/explode", b"{}", "unknown command 'explode' for storage"),
        ("charger/CP-1/cmd/limit", b'{"power_w": 10}', "unknown command 'limit' for charger"),
        ("inverter/x/cmd/setpoint", b"{}", "unknown target 'inverter'"),
    ],
)
async def test_bad_commands_are_rejected_with_a_reason(
    site: Any, path: str, payload: bytes, reason_part: str
) -> None:
    result = await send(site, path, payload)
    assert result["status"] == "rejected"
    assert reason_part in result["reason"]
    assert site[1].received == []  # nothing reached the device
    # ... and the gateway still works.
    ok = await send(site, "storage/bess-1/cmd/setpoint", b'{"power_w": 1}')
    assert ok["status"] == "accepted"


async def test_handler_crash_is_a_failed_result_not_a_crash(site: Any) -> None:
    result = await send(site, "storage/bess-1/cmd/setpoint", b'{"id": 7, "power_w": 666}')
    assert result == {**result, "id": "7", "status": "failed"}
    assert "device exploded" in result["reason"]
    ok = await send(site, "storage/bess-1/cmd/setpoint", b'{"power_w": 2}')
    assert ok["status"] == "accepted"


async def test_result_also_goes_to_the_mqtt5_response_topic(site: Any) -> None:
    gateway, _, client = site
    reply_topic = f"replies/{uuid.uuid4().hex}"
    async with Collector("127.0.0.1", gateway.config.mqtt.port, reply_topic) as replies:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = reply_topic
        props.CorrelationData = b"corr-42"
        await client.publish(
            f"{gateway.topics.base}/storage/bess-1/cmd/setpoint",
            b'{"power_w": 100}',
            qos=1,
            properties=props,
        )
        await replies.wait_for(lambda: bool(replies.messages))
        message = replies.messages[0]
        assert json.loads(message.payload)["status"] == "accepted"  # type: ignore[arg-type]
        assert message.properties is not None
        assert message.properties.CorrelationData == b"corr-42"


async def test_a_flood_of_garbage_does_not_stop_intake(site: Any) -> None:
    gateway, _, client = site
    topic = f"{gateway.topics.base}/storage/bess-1/cmd/setpoint"
    async with Collector("127.0.0.1", gateway.config.mqtt.port, f"{topic}/result") as results:
        for i in range(200):
            await client.publish(topic, b"\x00garbage" * (i % 7), qos=0)
        await client.publish(topic, b'{"id": "last", "power_w": 3}', qos=1)
        await results.wait_for(
            lambda: any(b.get("id") == "last" for b in results.json("/result")), 15
        )
    assert [a.power_w for _, a in site[1].received] == [3]
