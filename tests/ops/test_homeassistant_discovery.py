"""Discovery payloads against Home Assistant's documented MQTT discovery format.

Reference: https://www.home-assistant.io/integrations/mqtt/ (discovery topic
`<discovery_prefix>/<component>/[<node_id>/]<object_id>/config`, ids `[a-zA-Z0-9_-]`) and
https://www.home-assistant.io/integrations/sensor.mqtt/ (sensor options). Templates are
rendered with Jinja2, the engine HA uses, to show they read the gateway's payloads.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from gateway.foundation.model import DeviceKind
from gateway.homeassistant import DiscoveryContext, HaDevice, discovery_messages
from gateway.homeassistant.discovery import object_id
from gateway.topics import Topics

TOPICS = Topics("pilebridge", "site-1")
CTX = DiscoveryContext(TOPICS, "homeassistant", "0.1.0")
TOPIC_RE = re.compile(
    r"^homeassistant/(sensor|binary_sensor)/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/config$"
)
SENSOR_KEYS = {
    "name", "unique_id", "state_topic", "value_template", "availability", "device", "origin",
    "qos", "device_class", "unit_of_measurement", "state_class", "entity_category",
    "enabled_by_default",
}  # fmt: skip
# Units HA expects per device class (developers.home-assistant.io, sensor device classes).
UNITS = {
    "power": {"W", "kW"},
    "energy": {"Wh", "kWh"},
    "battery": {"%"},
    "voltage": {"V"},
    "current": {"A"},
    "temperature": {"°C"},
    "frequency": {"Hz"},
}


def by_key(messages: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return {payload["unique_id"]: payload for _, payload in messages}


def entity(messages: list[tuple[str, dict[str, Any]]], suffix: str) -> dict[str, Any]:
    found = [p for _, p in messages if p["unique_id"].endswith(suffix)]
    assert len(found) == 1, suffix
    return found[0]


def all_devices() -> list[HaDevice]:
    return [
        HaDevice(
            DeviceKind.CHARGER,
            "CP-1",
            evses=(1, 2),
            manufacturer="Acme",
            model="AC22",
            sw_version="1.2",
        ),
        HaDevice(DeviceKind.STORAGE, "bess-1"),
        HaDevice(DeviceKind.METER, "grid-1"),
        HaDevice(DeviceKind.SITE, "site-1"),
    ]


def test_every_config_follows_the_documented_format() -> None:
    unique_ids: set[str] = set()
    for device in all_devices():
        for topic, payload in discovery_messages(device, CTX):
            assert TOPIC_RE.match(topic), topic
            assert set(payload) <= SENSOR_KEYS, set(payload) - SENSOR_KEYS
            assert payload["unique_id"] not in unique_ids
            unique_ids.add(payload["unique_id"])
            assert payload["state_topic"].startswith(TOPICS.base + "/")
            assert payload["availability"] == [
                {
                    "topic": TOPICS.availability,
                    "payload_available": "online",
                    "payload_not_available": "offline",
                }
            ]
            assert payload["device"]["identifiers"] and payload["device"]["name"]
            assert payload["origin"]["name"] == "PileBridge"
            if "device_class" in payload and payload["device_class"] in UNITS:
                assert payload["unit_of_measurement"] in UNITS[payload["device_class"]]
            if payload.get("device_class") == "energy":
                assert payload["state_class"] == "total_increasing"
            if payload.get("device_class") in ("power", "voltage", "current", "battery"):
                assert payload["state_class"] == "measurement"


def test_charger_and_each_evse_are_devices_linked_by_via_device() -> None:
    messages = discovery_messages(all_devices()[0], CTX)
    connected = entity(messages, "charger_CP-1_connected")
    assert connected["device_class"] == "connectivity"
    assert connected["state_topic"] == "pilebridge/site-1/charger/CP-1/state"
    charger_device = connected["device"]
    assert charger_device["manufacturer"] == "Acme" and charger_device["sw_version"] == "1.2"
    power2 = entity(messages, "charger_CP-1_evse2_power")
    assert power2["device"]["via_device"] == charger_device["identifiers"][0]
    assert power2["device"]["identifiers"] != charger_device["identifiers"]
    assert (power2["device_class"], power2["unit_of_measurement"]) == ("power", "W")
    assert power2["state_topic"] == "pilebridge/site-1/charger/CP-1/telemetry"
    energy1 = entity(messages, "charger_CP-1_evse1_energy")
    assert (energy1["unit_of_measurement"], energy1["state_class"]) == ("Wh", "total_increasing")
    assert entity(messages, "charger_CP-1_evse1_ev_soc")["device_class"] == "battery"


def test_storage_and_meter_entities() -> None:
    storage = discovery_messages(all_devices()[1], CTX)
    soc = entity(storage, "storage_bess-1_soc")
    assert (soc["device_class"], soc["unit_of_measurement"]) == ("battery", "%")
    assert entity(storage, "storage_bess-1_temperature")["unit_of_measurement"] == "°C"
    assert entity(storage, "storage_bess-1_mode")["state_topic"].endswith("/storage/bess-1/state")
    meter = discovery_messages(all_devices()[2], CTX)
    assert entity(meter, "meter_grid-1_energy_import")["state_class"] == "total_increasing"
    assert entity(meter, "meter_grid-1_voltage")["device_class"] == "voltage"
    assert entity(meter, "meter_grid-1_current")["unit_of_measurement"] == "A"


def test_ids_outside_has_alphabet_are_made_safe_and_stay_distinct() -> None:
    assert object_id("charger", "CP-1") == "charger_CP-1"
    a, b = object_id("charger", "CP/1"), object_id("charger", "CP+1")
    assert a != b and re.fullmatch(r"[A-Za-z0-9_-]+", a) and re.fullmatch(r"[A-Za-z0-9_-]+", b)
    messages = discovery_messages(HaDevice(DeviceKind.CHARGER, "CP/1", evses=(1,)), CTX)
    for topic, payload in messages:
        assert TOPIC_RE.match(topic)
        assert payload["state_topic"].startswith("pilebridge/site-1/charger/CP%2F1/")


def test_discovery_prefix_is_configurable() -> None:
    ctx = DiscoveryContext(TOPICS, "ha-test", "0.1.0")
    topics = [t for t, _ in discovery_messages(all_devices()[1], ctx)]
    assert topics and all(t.startswith("ha-test/") for t in topics)


class _This:
    def __init__(self, state: str) -> None:
        self.state = state


def render(template: str, value_json: dict[str, Any], state: str = "unknown") -> str:
    jinja2 = pytest.importorskip("jinja2")
    env = jinja2.Environment()
    return str(env.from_string(template).render(value_json=value_json, this=_This(state)))


def test_templates_read_the_gateways_payloads() -> None:
    charger = discovery_messages(all_devices()[0], CTX)
    power1 = entity(charger, "charger_CP-1_evse1_power")["value_template"]
    assert render(power1, {"evse": 1, "power_w": 7200.0, "seq": 3}) == "7200.0"
    # A sample of another EVSE on the same topic keeps this entity's value.
    assert render(power1, {"evse": 2, "power_w": 11.0}, state="7200.0") == "7200.0"
    assert render(power1, {"evse": 2, "power_w": 11.0}, state="unknown") == "None"
    status2 = entity(charger, "charger_CP-1_evse2_status")["value_template"]
    state = {"connected": True, "evses": {"1": {"status": "Charging"}, "2": {"status": "Faulted"}}}
    assert render(status2, state) == "Faulted"
    assert render(status2, {"connected": True, "evses": {}}) == "None"
    connected = entity(charger, "charger_CP-1_connected")["value_template"]
    assert render(connected, {"connected": False}) == "OFF"
    assert render(connected, {"connected": True}) == "ON"
    storage = discovery_messages(all_devices()[1], CTX)
    soc = entity(storage, "storage_bess-1_soc")["value_template"]
    assert render(soc, {"soc_pct": 55.5}) == "55.5"
    assert render(soc, {"power_w": 1.0}, state="54.0") == "54.0"
    mode = entity(storage, "storage_bess-1_mode")["value_template"]
    assert render(mode, {"connected": True, "mode": "manual"}) == "manual"
