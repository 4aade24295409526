"""The commissioning panel: which commands the page offers, and the form field of each.

The offer is a short list a technician needs on site; the field types, ranges and choices
come from the command schemas themselves (gateway/commands/schemas.py), so the form cannot
drift from what the router accepts. The router still validates everything the page sends.
"""

from __future__ import annotations

from typing import Any

from gateway.foundation.commands.schemas import COMMAND_SCHEMAS
from gateway.foundation.model import DeviceKind

__all__ = ["PANEL", "panel_forms"]

PANEL: dict[DeviceKind, dict[str, tuple[str, ...]]] = {
    DeviceKind.CHARGER: {
        "limit": ("power_w", "current_a", "evse", "ttl_s"),
        "trigger": ("message", "evse"),
        "reset": ("type",),
        "unlock": ("evse",),
        "availability": ("operative", "evse"),
        "start": ("id_tag", "evse"),
        "stop": ("transaction_id",),
    },
    DeviceKind.STORAGE: {
        "setpoint": ("power_w", "ttl_s"),
        "mode": ("mode",),
    },
    DeviceKind.SITE: {
        "grid_limit": ("import_w", "export_w", "ttl_s"),
        "power_target": ("import_w", "ttl_s"),
    },
}
"""Per target, the commands on the panel and the fields shown (in this order)."""

_SUGGESTIONS = {
    ("trigger", "message"): [
        "StatusNotification",
        "MeterValues",
        "Heartbeat",
        "BootNotification",
        "FirmwareStatusNotification",
    ],
}

_HINTS = {
    ("limit", "power_w"): "empty power and current: clear the limit",
    ("setpoint", "power_w"): "positive charges, negative discharges",
    ("limit", "ttl_s"): "lapses unless sent again",
    ("setpoint", "ttl_s"): "lapses unless sent again",
}


def panel_forms(handled: set[tuple[DeviceKind, str]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """{target: {command: [field, ...]}} for the commands the router handles right now."""
    forms: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for target, commands in PANEL.items():
        for name, wanted in commands.items():
            model = COMMAND_SCHEMAS.get((target, name))
            if model is None or (target, name) not in handled:
                continue
            schema = model.model_json_schema()
            props = schema.get("properties", {})
            required = set(schema.get("required", ()))
            fields = [
                _field(name, key, props[key], key in required) for key in wanted if key in props
            ]
            forms.setdefault(target.value, {})[name] = fields
    return forms


def _field(command: str, name: str, prop: dict[str, Any], required: bool) -> dict[str, Any]:
    options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
    spec = options[0] if options else {}
    field: dict[str, Any] = {
        "name": name,
        "type": spec.get("type", "string"),
        "required": required,
        "label": _label(name),
    }
    if "enum" in spec:
        field["choices"] = spec["enum"]
    elif "const" in spec:
        field["choices"] = [spec["const"]]
    for key in ("minimum", "maximum"):
        if key in spec:
            field[key] = spec[key]
    if (command, name) in _SUGGESTIONS:
        field["suggestions"] = _SUGGESTIONS[(command, name)]
    hint = _HINTS.get((command, name)) or spec.get("description") or prop.get("description")
    if hint:
        field["hint"] = hint
    return field


_UNITS = {"_w": "W", "_a": "A", "_s": "s", "_pct": "%"}
_WORDS = {"ttl": "lease TTL", "evse": "EVSE", "id": "id", "import": "import", "export": "export"}


def _label(name: str) -> str:
    """`power_w` -> `power (W)`, `ttl_s` -> `lease TTL (s)`, `id_tag` -> `id tag`."""
    for suffix, unit in _UNITS.items():
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            return f"{_WORDS.get(stem, stem.replace('_', ' '))} ({unit})"
    return _WORDS.get(name, name.replace("_", " "))
