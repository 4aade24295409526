"""Validate an MQTT message against the documented schema of its topic.

Reusable by any end-to-end test: `validate_message(topic, payload, topics)` raises
AssertionError (with the schema's complaint) if the topic is not documented or the payload
does not match. Validation uses the generated files under docs/schemas/, i.e. what
integrators read, not the Python objects they were generated from.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from gateway.api_spec import match_topic
from gateway.topics import Topics

__all__ = ["SCHEMA_DIR", "schema_validator", "validate_message"]

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"


@cache
def schema_validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_message(topic: str, payload: bytes | str | dict[str, Any], topics: Topics) -> str:
    """Assert the message matches its documented schema; returns the schema name."""
    found = match_topic(topic, topics)
    assert found is not None, f"topic {topic!r} is not in the documented topic tree"
    channel, _ = found
    validator = schema_validator(channel.schema)
    if isinstance(payload, dict):
        body: Any = payload
    else:
        text = payload.decode() if isinstance(payload, bytes) else payload
        body = text if validator.schema.get("type") == "string" else json.loads(text)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, f"{topic}: {channel.schema}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors
    )
    return channel.schema
