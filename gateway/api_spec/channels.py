"""The topic tree as data: every channel, who publishes it, retain and QoS, its payload schema.

Addresses are written from `gateway/topics.py`'s layout (`P = {prefix}/{site_id}`); tests
check that the addresses the code builds match these templates, and `match_topic` maps a
concrete topic back to its channel (the end-to-end tests validate every message with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.api_spec.payload_schemas import command_schema_name
from gateway.foundation.commands.schemas import COMMAND_SCHEMAS
from gateway.foundation.model.ids import DeviceKind
from gateway.topics import Topics, decode_id, encode_id

__all__ = ["CHANNELS", "Channel", "match_topic"]

Direction = Literal["publish", "subscribe"]
"""`publish`: the gateway publishes, consumers subscribe; `subscribe`: the gateway listens."""


@dataclass(frozen=True, slots=True)
class Channel:
    key: str
    """Stable identifier (AsyncAPI channel id)."""
    levels: tuple[str, ...]
    """Topic levels after `P`; `{charger_id}`/`{device_id}` stand for one level."""
    direction: Direction
    schema: str
    retained: bool
    summary: str
    through_outbox: bool = False
    """Stamped with `seq`/`ts`, durable, in order across outages and restarts."""
    qos: int = 1

    @property
    def address(self) -> str:
        return "/".join(("{prefix}", "{site_id}", *self.levels))

    def topic(self, topics: Topics, device_id: str = "") -> str:
        levels = [
            encode_id(device_id) if lv in ("{charger_id}", "{device_id}") else lv
            for lv in self.levels
        ]
        return "/".join((topics.base, *levels))


def _device_channels() -> list[Channel]:
    charger, storage, meter = "{charger_id}", "{device_id}", "{device_id}"
    rows = [
        ("charger-state", ("charger", charger, "state"), True, "Charger state (retained twin)"),
        (
            "charger-telemetry",
            ("charger", charger, "telemetry"),
            False,
            "Charger meter values per EVSE",
        ),
        (
            "charger-transaction",
            ("charger", charger, "transaction"),
            False,
            "Charging sessions: started, updated, ended (never dropped)",
        ),
        (
            "charger-event",
            ("charger", charger, "event"),
            False,
            "Other charger events (firmware, security, data transfer, authorize, log_uploaded; never dropped)",
        ),
        (
            "charger-config",
            ("charger", charger, "config"),
            True,
            "The charger's configuration as last read by `report` (retained)",
        ),
        ("storage-state", ("storage", storage, "state"), True, "Battery state (retained twin)"),
        (
            "storage-telemetry",
            ("storage", storage, "telemetry"),
            False,
            "Battery measurements per poll",
        ),
        ("meter-state", ("meter", meter, "state"), True, "Meter state (retained twin)"),
        ("meter-telemetry", ("meter", meter, "telemetry"), False, "Meter measurements per poll"),
        ("site-telemetry", ("site", "telemetry"), False, "Site totals and the limit in force"),
        ("site-event", ("site", "event"), False, "Site events: grid meter lost/back, power target"),
        (
            "site-flexibility",
            ("site", "flexibility"),
            False,
            "What the site could shed or add now, and for how long",
        ),
    ]
    return [
        Channel(key, levels, "publish", key, retained, summary, through_outbox=True)
        for key, levels, retained, summary in rows
    ]


def _command_channels() -> list[Channel]:
    channels: list[Channel] = []
    for target, name in COMMAND_SCHEMAS:
        prefix: tuple[str, ...] = (
            ("site",)
            if target is DeviceKind.SITE
            else (
                target.value,
                "{charger_id}" if target is DeviceKind.CHARGER else "{device_id}",
            )
        )
        key = f"{target.value}-cmd-{name}"
        channels.append(
            Channel(
                key,
                (*prefix, "cmd", name),
                "subscribe",
                command_schema_name(target.value, name),
                False,
                f"Command: {target.value} {name}",
            )
        )
        channels.append(
            Channel(
                f"{key}-result",
                (*prefix, "cmd", name, "result"),
                "publish",
                "command-result",
                False,
                f"Result of {target.value} {name}",
            )
        )
    return channels


_ANY_RESULT = (
    "Result of a command the gateway does not know (always rejected, with the known names)"
)

CHANNELS: tuple[Channel, ...] = (
    Channel(
        "gateway-availability",
        ("gateway", "availability"),
        "publish",
        "gateway-availability",
        True,
        "online / offline (Last Will)",
    ),
    Channel(
        "gateway-info",
        ("gateway", "info"),
        "publish",
        "gateway-info",
        True,
        "Version, start time, configured devices",
    ),
    *_device_channels(),
    *_command_channels(),
    # Results of requests on any other command topic; listed last so known ones match first.
    Channel(
        "any-cmd-result",
        ("{target}", "{device_id}", "cmd", "{command}", "result"),
        "publish",
        "command-result",
        False,
        _ANY_RESULT,
    ),
    Channel(
        "site-any-cmd-result",
        ("site", "cmd", "{command}", "result"),
        "publish",
        "command-result",
        False,
        _ANY_RESULT,
    ),
)


def match_topic(topic: str, topics: Topics) -> tuple[Channel, str | None] | None:
    """The channel a concrete topic belongs to, and the device id in it (None: no id level)."""
    head = topics.base + "/"
    if not topic.startswith(head):
        return None
    levels = topic[len(head) :].split("/")
    for channel in CHANNELS:
        if len(channel.levels) != len(levels):
            continue
        device_id: str | None = None
        for pattern, level in zip(channel.levels, levels, strict=True):
            if pattern in ("{charger_id}", "{device_id}"):
                device_id = decode_id(level)
            elif pattern.startswith("{"):
                continue
            elif pattern != level:
                break
        else:
            return channel, device_id
    return None
