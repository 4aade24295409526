"""JSON Schemas of every payload the gateway publishes or accepts: the documented contract.

Device payloads are in `device_schemas.py`; this module adds the gateway's own topics, command
results, and the command payloads, which come straight from the pydantic models in
`gateway/commands/schemas.py`. PAYLOAD_SCHEMAS is what the docs are generated from.
"""

from __future__ import annotations

from gateway.api_spec.device_schemas import (
    CHARGER_CONFIG,
    CHARGER_EVENT,
    CHARGER_STATE,
    CHARGER_TELEMETRY,
    CHARGER_TRANSACTION,
    METER_STATE,
    METER_TELEMETRY,
    SITE_TELEMETRY,
    STORAGE_STATE,
    STORAGE_TELEMETRY,
)
from gateway.api_spec.schema_parts import Schema, obj, text, time
from gateway.api_spec.site_schemas import SITE_EVENT, SITE_FLEXIBILITY
from gateway.foundation.commands.schemas import COMMAND_SCHEMAS

__all__ = ["PAYLOAD_SCHEMAS", "command_schema_name"]

_IDS = {"type": "array", "items": {"type": "string"}}
GATEWAY_INFO = obj(
    {
        "version": text("PileBridge version"),
        "started_at": time("When this gateway process started"),
        "site_id": text("site.id from the config"),
        "devices": obj(
            {"chargers": _IDS, "storage": _IDS, "meters": _IDS},
            ("chargers", "storage", "meters"),
            description="Configured device ids",
        ),
        "grid_import_limit_w": {
            "type": ["number", "null"],
            "description": "Configured grid import limit, W",
        },
    },
    ("version", "started_at", "site_id", "devices"),
    title="Gateway info",
    description="Retained; published on every connect. Not stamped with seq (not from the outbox).",
)

GATEWAY_AVAILABILITY: Schema = {
    "title": "Gateway availability",
    "description": "Plain text, retained. `online` on connect, `offline` on a clean stop and as the Last Will.",
    "type": "string",
    "enum": ["online", "offline"],
}

COMMAND_RESULT = obj(
    {
        "id": {"type": ["string", "null"], "description": "The request's `id`, echoed"},
        "status": {
            "type": "string",
            "enum": ["accepted", "rejected", "failed", "timeout"],
            "description": "Outcome",
        },
        "reason": {"type": ["string", "null"], "description": "Why, in words a person can act on"},
        "detail": {
            "type": "object",
            "description": "Specifics, e.g. applied_power_w and clamped: true for a clamped setpoint, the charger's answer for a refusal",
        },
        "ts": time("When the result was made"),
    },
    ("id", "status", "reason", "detail", "ts"),
    title="Command result",
    description="Published to `<command topic>/result` and, when the request carried an MQTT 5 Response Topic, to that topic with the request's Correlation Data. Not retained, QoS 1.",
)


def command_schema_name(target: str, name: str) -> str:
    return f"command-{target}-{name}"


def _inline_defs(schema: Schema) -> Schema:
    """Nested models (a schedule's windows) inlined: each schema stands alone in the docs."""
    defs = schema.pop("$defs", {})

    def walk(node: object) -> object:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    inlined = walk(schema)
    assert isinstance(inlined, dict)
    return inlined


def _command_schemas() -> dict[str, Schema]:
    schemas: dict[str, Schema] = {}
    for (target, name), model in COMMAND_SCHEMAS.items():
        schema = _inline_defs(model.model_json_schema())
        schema.setdefault("properties", {})["id"] = {
            "type": ["string", "integer"],
            "description": "Optional request id, echoed in the result",
        }
        schema["title"] = f"{target.value} {name} command"
        if (target.value, name) == ("charger", "limit"):
            schema["anyOf"] = [
                {"required": ["power_w"]},
                {"required": ["current_a"]},
                {"required": ["schedule"]},
            ]
        schemas[command_schema_name(target.value, name)] = schema
    return schemas


PAYLOAD_SCHEMAS: dict[str, Schema] = {
    "gateway-availability": GATEWAY_AVAILABILITY,
    "gateway-info": GATEWAY_INFO,
    "charger-state": CHARGER_STATE,
    "charger-telemetry": CHARGER_TELEMETRY,
    "charger-transaction": CHARGER_TRANSACTION,
    "charger-event": CHARGER_EVENT,
    "charger-config": CHARGER_CONFIG,
    "storage-state": STORAGE_STATE,
    "storage-telemetry": STORAGE_TELEMETRY,
    "meter-state": METER_STATE,
    "meter-telemetry": METER_TELEMETRY,
    "site-telemetry": SITE_TELEMETRY,
    "site-event": SITE_EVENT,
    "site-flexibility": SITE_FLEXIBILITY,
    "command-result": COMMAND_RESULT,
    **_command_schemas(),
}
"""Schema name -> JSON Schema (draft 2020-12 subset that is also valid AsyncAPI schema)."""
