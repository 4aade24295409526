"""Schemas of the site controller's own topics: `P/site/event` and `P/site/flexibility`."""

from __future__ import annotations

from gateway.api_spec.schema_parts import Schema, num, obj, record, text

__all__ = ["SITE_EVENT", "SITE_FLEXIBILITY"]

SITE_EVENT = record(
    "Site event",
    "Something the control centre should know at once. Not retained, never dropped. Events: `grid_meter_lost` (data: meter, failsafe_charger_power_w; the fail-safe holds), `grid_meter_back` (data: meter; normal control resumes), `power_target_set` (data: import_w, ttl_s), `power_target_ended` (data: reason = lease_expired, mqtt_lost or cleared; import_w).",
    {
        "event": text("grid_meter_lost, grid_meter_back, power_target_set or power_target_ended"),
        "data": {"type": "object", "description": "The event's details"},
    },
    ("event", "data"),
)

_SECONDS: Schema = {
    "type": ["number", "null"],
    "description": "How long it can be held, s; null: not bounded by stored energy, or the energy is not known (a battery with neither capacity_wh configured nor a capacity it reports; an EV that did not report its V2X energy)",
}

SITE_FLEXIBILITY = record(
    "Site flexibility",
    "Published every controller interval: how many watts the site could shed from (or add to) its grid import now, and for how long. Not retained; may be dropped when the outbox is full.",
    {
        "import_w": {"type": ["number", "null"], "description": "Grid import now, W"},
        "shed_w": num("Import the site could take off the grid now, W (all parts together)"),
        "add_w": num("Import the site could add now, W, within the import limit in force"),
        "shed_for_s": _SECONDS,
        "add_for_s": _SECONDS,
        "parts": {
            "type": "array",
            "description": "Where the flexibility is",
            "items": obj(
                {
                    "kind": {
                        "type": "string",
                        "enum": ["storage", "v2g", "charging"],
                        "description": "storage: an auto-mode battery; v2g: an EV that may discharge; charging: curtailable charging (all chargers paused)",
                    },
                    "device_id": {
                        "type": ["string", "null"],
                        "description": "Battery or charger id; null for charging",
                    },
                    "shed_w": num("W it could shed now"),
                    "add_w": num("W it could add now"),
                    "shed_for_s": _SECONDS,
                    "add_for_s": _SECONDS,
                },
                ("kind", "device_id", "shed_w", "add_w", "shed_for_s", "add_for_s"),
            ),
        },
    },
    ("import_w", "shed_w", "add_w", "shed_for_s", "add_for_s", "parts"),
)
