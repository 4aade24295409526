"""Discovery through the gateway's MQTT link, against a real Mosquitto."""

from __future__ import annotations

import json
from collections.abc import Callable

import aiomqtt

from gateway import __version__
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from gateway.foundation.model import ChargerId, ChargerState, ChargerTelemetry, EvseState
from gateway.homeassistant import DiscoveryContext, discovery_messages, ha_devices
from tests.conftest import Collector
from tests.ops.helpers import running_gateway
from tests.ops.test_homeassistant_discovery import SENSOR_KEYS, TOPIC_RE


def configs(collector: Collector) -> dict[str, dict[str, object]]:
    """Latest config per discovery topic."""
    latest: dict[str, dict[str, object]] = {}
    for message in collector.messages:
        if str(message.topic).endswith("/config") and isinstance(message.payload, bytes):
            latest[str(message.topic)] = json.loads(message.payload)
    return latest


async def test_discovery_is_published_retained_updated_and_resent_when_ha_comes_online(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    config = make_config(
        mosquitto,
        ocpp={"enabled": False, "chargers": [{"id": "CP-1"}]},
        homeassistant={"enabled": True},
    )
    async with (
        Collector(mosquitto.host, mosquitto.port, "homeassistant/#") as ha,
        running_gateway(config) as gateway,
    ):
        assert gateway.discovery is not None
        # Site and the charger itself (its EVSEs are not known yet).
        await ha.wait_for(lambda: any("charger_CP-1_connected" in t for t in configs(ha)))
        assert not any("evse" in t for t in configs(ha))

        cp = ChargerId("CP-1")
        gateway.recorder.record(
            ChargerState(cp, True, vendor="Acme", evses={1: EvseState("Available")})
        )
        gateway.recorder.record(ChargerTelemetry(cp, 2, power_w=1.0))
        context = DiscoveryContext(gateway.topics, "homeassistant", __version__)
        expected = {
            topic
            for device in ha_devices(config, gateway.recorder.twins)
            for topic, _ in discovery_messages(device, context)
        }
        assert any("evse1_power" in t for t in expected) and any(
            "evse2_power" in t for t in expected
        )
        await ha.wait_for(lambda: set(configs(ha)) == expected)
        current = configs(ha)
        for topic, payload in current.items():
            assert TOPIC_RE.match(topic) and set(payload) <= SENSOR_KEYS
            assert payload["availability"] == [
                {
                    "topic": gateway.topics.availability,
                    "payload_available": "online",
                    "payload_not_available": "offline",
                }
            ]
        charger = next(p for t, p in current.items() if t.endswith("charger_CP-1_connected/config"))
        assert charger["device"]["manufacturer"] == "Acme"  # type: ignore[index]

        def sent(topic: str) -> int:
            return sum(1 for m in ha.messages if str(m.topic) == topic)

        before = {topic: sent(topic) for topic in current}
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
            await client.publish("homeassistant/status", b"online", qos=1)
        await ha.wait_for(lambda: all(sent(t) > n for t, n in before.items()))
        assert configs(ha) == current  # the same configs, sent again

        async with Collector(mosquitto.host, mosquitto.port, "homeassistant/#") as late:
            await late.wait_for(lambda: len(late.messages) >= len(current))
            assert all(m.retain for m in late.messages)  # a restarted HA reads them at once


async def test_discovery_is_off_by_default(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    config = make_config(mosquitto, ocpp={"enabled": False, "chargers": [{"id": "CP-1"}]})
    async with running_gateway(config) as gateway:
        assert gateway.discovery is None
        assert all(c.name != "homeassistant" for c in gateway.supervisor.components)
