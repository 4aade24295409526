"""Building blocks of the payload schemas: typed fields with units, objects, stamped records."""

from __future__ import annotations

from typing import Any

__all__ = ["LOAD", "TS_PATTERN", "Schema", "integer", "num", "obj", "record", "text", "time"]

Schema = dict[str, Any]

LOAD = "Load convention: positive flows from the site into the device, negative out of it."
TS_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"


def num(description: str) -> Schema:
    return {"type": "number", "description": description}


def integer(description: str, minimum: int = 0) -> Schema:
    return {"type": "integer", "minimum": minimum, "description": description}


def text(description: str) -> Schema:
    return {"type": "string", "description": description}


def time(description: str) -> Schema:
    return {
        "type": "string",
        "pattern": TS_PATTERN,
        "description": description + " (RFC 3339 UTC, ms)",
    }


def obj(properties: dict[str, Schema], required: tuple[str, ...] = (), **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    schema.update(extra)
    return schema


def record(
    title: str, description: str, properties: dict[str, Schema], required: tuple[str, ...] = ()
) -> Schema:
    """A record through the outbox: the outbox stamps `seq` and `ts` on every body."""
    props = {
        "seq": integer(
            "Gateway-wide sequence number, strictly increasing across restarts; a gap means records were dropped from a full outbox or moved to dead letters (both counted in /metrics and /healthz), a repeat is a QoS 1 redelivery",
            1,
        ),
        "ts": time("When the gateway accepted the record"),
        **properties,
    }
    return obj(props, ("seq", "ts", *required), title=title, description=description)
