"""The AsyncAPI 3.0 document of the MQTT interface, generated from the channel table.

`docs/asyncapi.yaml` is this function's output (`python -m gateway.api_spec` writes it; a test
fails when the file and the code disagree). MQTT bindings follow the AsyncAPI MQTT binding
0.2.0: QoS and retain per operation; commands declare their reply channel.
"""

from __future__ import annotations

from typing import Any

from gateway import __version__
from gateway.api_spec.channels import CHANNELS, Channel
from gateway.api_spec.payload_schemas import PAYLOAD_SCHEMAS

__all__ = ["asyncapi_document"]

_BINDING_VERSION = "0.2.0"

_DESCRIPTION = """\
MQTT interface of a PileBridge site gateway (EV chargers over OCPP, batteries and meters over
Modbus TCP). All topics start with `{prefix}/{site_id}` (`mqtt.topic_prefix` and `site.id`).

* JSON, UTF-8. Units are in the field names (`power_w`, `energy_wh`, `soc_pct`, ...).
* Sign: load convention everywhere. Positive power flows from the site into the device
  (EV charging, battery charging, grid import at the meter); negative flows out of it.
* State, telemetry, transactions and events go through a durable outbox at QoS 1 and carry
  `seq` (one strictly increasing counter per gateway, kept across restarts) and `ts`.
  QoS 1 is at-least-once: drop a `seq` you have already seen. A gap in `seq` means the
  outbox was full and the oldest telemetry was dropped (transactions never are), or a record
  the broker cannot take went to dead letters. Payloads are strict JSON (no NaN/Infinity).
* Commands: publish to `.../cmd/{name}`; the result goes to `.../cmd/{name}/result` and to
  the MQTT 5 Response Topic, with the request's Correlation Data, when one was given.
"""


_PARAMETERS = {
    "prefix": {"description": "mqtt.topic_prefix", "default": "pilebridge"},
    "site_id": {"description": "site.id ([A-Za-z0-9_-]+)"},
    "charger_id": {
        "description": "Charger id as configured; '/', '+', '#', '%' are percent-encoded"
    },
    "device_id": {"description": "Device id (modbus.devices[].id, or a charger id)"},
    "target": {"description": "charger or storage"},
    "command": {"description": "The command name of the request"},
}


def _parameters(channel: Channel) -> dict[str, Any]:
    names = [p.strip("{}") for p in channel.address.split("/") if p.startswith("{")]
    return {name: _PARAMETERS[name] for name in names}


def _message_key(channel: Channel) -> str:
    return channel.key


def asyncapi_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    by_key = {c.key: c for c in CHANNELS}
    for channel in CHANNELS:
        msg = _message_key(channel)
        schema = PAYLOAD_SCHEMAS[channel.schema]
        messages[msg] = {
            "name": msg,
            "title": schema.get("title", channel.summary),
            "summary": channel.summary,
            "contentType": "text/plain" if schema.get("type") == "string" else "application/json",
            "payload": {"$ref": f"#/components/schemas/{channel.schema}"},
        }
        channels[channel.key] = {
            "address": channel.address,
            "title": channel.summary,
            "parameters": _parameters(channel),
            "messages": {msg: {"$ref": f"#/components/messages/{msg}"}},
        }
        operation: dict[str, Any] = {
            "action": "send" if channel.direction == "publish" else "receive",
            "channel": {"$ref": f"#/channels/{channel.key}"},
            "summary": (
                "The gateway publishes: "
                if channel.direction == "publish"
                else "The gateway accepts: "
            )
            + channel.summary,
            "messages": [{"$ref": f"#/channels/{channel.key}/messages/{msg}"}],
            "bindings": {
                "mqtt": {
                    "qos": channel.qos,
                    "retain": channel.retained,
                    "bindingVersion": _BINDING_VERSION,
                }
            },
        }
        result = by_key.get(f"{channel.key}-result")
        if result is not None:
            operation["reply"] = {
                "channel": {"$ref": f"#/channels/{result.key}"},
                "messages": [{"$ref": f"#/channels/{result.key}/messages/{result.key}"}],
            }
        operations[("publish-" if channel.direction == "publish" else "accept-") + channel.key] = (
            operation
        )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "PileBridge MQTT API",
            "version": __version__,
            "description": _DESCRIPTION,
        },
        "defaultContentType": "application/json",
        "servers": {
            "site-broker": {
                "host": "localhost:1883",
                "protocol": "mqtt",
                "protocolVersion": "5",
                "description": "The site's MQTT broker (mqtt.host, mqtt.port in the gateway config)",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(PAYLOAD_SCHEMAS)},
    }
