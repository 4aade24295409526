"""Home Assistant MQTT discovery messages for one device: a pure function of plain values.

Format as HA documents it (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery):
topic `<discovery_prefix>/<component>/<node_id>/<object_id>/config` (node and object ids
`[a-zA-Z0-9_-]`), a JSON config per entity with `unique_id`, `device`, `origin` and
`availability`. Entities read the gateway's own JSON topics through `value_template`; no
extra state topics are published for HA. Availability is the gateway's Last Will topic, so
every entity shows unavailable when the gateway is gone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.foundation.model import DeviceKind
from gateway.homeassistant.entities import (
    CHARGER_ENTITIES,
    EVSE_ENTITIES,
    METER_ENTITIES,
    SITE_ENTITIES,
    STORAGE_ENTITIES,
    Entity,
)
from gateway.topics import Topics

__all__ = ["DiscoveryContext", "HaDevice", "discovery_messages", "object_id"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def object_id(*parts: str) -> str:
    """Parts joined by `_`, limited to HA's id alphabet; a short hash keeps altered ids unique."""
    raw = "_".join(parts)
    safe = _UNSAFE.sub("_", raw)
    if safe != raw:
        safe += "_" + hashlib.sha1(raw.encode()).hexdigest()[:6]
    return safe


@dataclass(frozen=True, slots=True)
class DiscoveryContext:
    topics: Topics
    discovery_prefix: str = "homeassistant"
    version: str = ""


@dataclass(frozen=True, slots=True)
class HaDevice:
    """A gateway device as HA sees it; `evses` are the charger's EVSE numbers (not 0)."""

    kind: DeviceKind
    device_id: str
    evses: Sequence[int] = ()
    manufacturer: str | None = None
    model: str | None = None
    sw_version: str | None = None
    serial: str | None = None


def discovery_messages(device: HaDevice, ctx: DiscoveryContext) -> list[tuple[str, dict[str, Any]]]:
    """Every (config topic, config payload) for the device; publish them retained."""
    topics = ctx.topics
    if device.kind is DeviceKind.SITE:
        info = _device_info(ctx, "site", topics.site_id, f"Site {topics.site_id}", device)
        return [_config(ctx, e, info, "site", topics.site_id, None) for e in SITE_ENTITIES]
    names = {
        DeviceKind.CHARGER: ("Charger", CHARGER_ENTITIES),
        DeviceKind.STORAGE: ("Battery", STORAGE_ENTITIES),
        DeviceKind.METER: ("Meter", METER_ENTITIES),
    }
    label, entities = names[device.kind]
    kind = device.kind.value
    info = _device_info(ctx, kind, device.device_id, f"{label} {device.device_id}", device)
    messages = [_config(ctx, e, info, kind, device.device_id, None) for e in entities]
    for evse in sorted(set(device.evses) - {0}):
        evse_info = _device_info(
            ctx, kind, f"{device.device_id}/{evse}", f"{device.device_id} EVSE {evse}", device
        )
        evse_info["via_device"] = info["identifiers"][0]
        messages += [
            _config(ctx, e, evse_info, kind, device.device_id, evse) for e in EVSE_ENTITIES
        ]
    return messages


def _device_info(
    ctx: DiscoveryContext, kind: str, device_id: str, name: str, device: HaDevice
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "identifiers": [f"pilebridge_{ctx.topics.site_id}_{kind}_{device_id}"],
        "name": name,
        "manufacturer": device.manufacturer or "PileBridge",
        "model": device.model or {"site": "Site", "charger": "Charge point"}.get(kind, kind),
    }
    if device.sw_version:
        info["sw_version"] = device.sw_version
    if device.serial:
        info["serial_number"] = device.serial
    return info


def _config(
    ctx: DiscoveryContext,
    entity: Entity,
    device_info: dict[str, Any],
    kind: str,
    device_id: str,
    evse: int | None,
) -> tuple[str, dict[str, Any]]:
    topics = ctx.topics
    parts = [kind, device_id] + ([f"evse{evse}"] if evse is not None else []) + [entity.key]
    if kind == "site":
        parts = ["site", entity.key]
    oid = object_id(*parts)
    node = object_id("pilebridge", topics.site_id)
    state_topic = topics.device(DeviceKind(kind), device_id, entity.leaf)
    payload: dict[str, Any] = {
        "name": entity.name,
        "unique_id": f"{node}_{oid}",
        "state_topic": state_topic,
        "value_template": _template(entity, evse),
        "availability": [
            {
                "topic": topics.availability,
                "payload_available": "online",
                "payload_not_available": "offline",
            }
        ],
        "device": device_info,
        "origin": {"name": "PileBridge", "sw_version": ctx.version},
        "qos": 1,
    }
    for key, value in (
        ("device_class", entity.device_class),
        ("unit_of_measurement", entity.unit),
        ("state_class", entity.state_class),
    ):
        if value is not None:
            payload[key] = value
    if entity.diagnostic:
        payload["entity_category"] = "diagnostic"
    if not entity.enabled_by_default:
        payload["enabled_by_default"] = False
    return f"{ctx.discovery_prefix}/{entity.component}/{node}/{oid}/config", payload


def _template(entity: Entity, evse: int | None) -> str:
    """Jinja for HA. A message without the value keeps the last one (`this.state`); a
    rendered `None` makes the entity unknown, which HA documents for MQTT sensors."""
    f = entity.field
    if entity.component == "binary_sensor":
        return f"{{{{ 'ON' if value_json.{f} else 'OFF' }}}}"
    if f == "evses.status":
        return (
            f"{{% set e = (value_json.evses | default({{}})).get('{evse}') %}}"
            "{{ e.status if e and e.status is defined else none }}"
        )
    keep = "this.state" if entity.state_class is None else "this.state | float(none)"
    if evse is not None:
        return (
            f"{{% if value_json.evse == {evse} and value_json.{f} is defined %}}"
            f"{{{{ value_json.{f} }}}}{{% else %}}{{{{ {keep} }}}}{{% endif %}}"
        )
    return f"{{{{ value_json.{f} if value_json.{f} is defined else {keep} }}}}"
