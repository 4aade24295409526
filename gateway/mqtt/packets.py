"""QoS 1 PUBLISH packets for a batch of outbox rows, built into one buffer.

The bytes are those paho's `_send_publish` builds for `publish(topic, payload, qos=1,
retain=...)` without properties (MQTT 3.1.1 §3.3; MQTT 5 §3.3 with an empty property list),
so the batch publisher can hand a whole batch to the socket in one write instead of building
each packet through paho's message objects. A row paho would refuse (a topic with a
wildcard, an empty or oversized topic, a payload that is not bytes or too large) makes the
whole batch `None`: the publisher then takes paho's own path, which raises as paho does.

A site publishes on a bounded set of topics: each is encoded (and checked) once and kept.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from gateway.outbox_db import OutboxRow

__all__ = ["MAX_REMAINING", "encode_publishes", "remaining_length", "topic_field"]

MAX_REMAINING = 268_435_455
"""The largest Remaining Length a packet can declare (four bytes of variable-length integer)."""
_PUBLISH_QOS1 = 0x32
_TOPICS_CAP = 4096
_topics: dict[str, bytes] = {}

_head2 = struct.Struct("!BB").pack
_head3 = struct.Struct("!BBB").pack
_mid311 = struct.Struct("!H").pack
_mid5 = struct.Struct("!HB").pack  # packet id + an empty property list (length 0)


def topic_field(topic: str) -> bytes | None:
    """The topic as a PUBLISH carries it (two-byte length, UTF-8), or None where paho's
    `publish()` would refuse it (or, for an empty topic, need a topic alias we never set)."""
    field = _topics.get(topic)
    if field is not None:
        return field
    if not topic or "+" in topic or "#" in topic:
        return None
    try:
        encoded = topic.encode()
    except UnicodeEncodeError:
        return None
    if len(encoded) > 65535:
        return None
    field = len(encoded).to_bytes(2, "big") + encoded
    if len(_topics) >= _TOPICS_CAP:
        _topics.clear()
    _topics[topic] = field
    return field


def remaining_length(value: int) -> bytes:
    """MQTT's variable-length integer (§1.5.5 / §2.2.3): seven bits a byte, low bits first."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def encode_publishes(
    rows: Sequence[OutboxRow], mids: Sequence[int], *, mqtt5: bool
) -> bytes | None:
    """The QoS 1 PUBLISH packets of `rows` with packet ids `mids`, in order, as one buffer;
    None if a row is not of the form this takes (see the module docstring)."""
    parts: list[bytes] = []
    append = parts.append
    fixed = 3 if mqtt5 else 2  # packet id (+ property length in MQTT 5)
    for row, mid in zip(rows, mids, strict=True):
        field = _topics.get(row.topic) or topic_field(row.topic)
        payload = row.payload
        if field is None or type(payload) is not bytes:
            return None
        remaining = len(field) + fixed + len(payload)
        command = _PUBLISH_QOS1 | 1 if row.retain else _PUBLISH_QOS1
        if remaining < 128:
            append(_head2(command, remaining))
        elif remaining < 16384:
            append(_head3(command, remaining & 0x7F | 0x80, remaining >> 7))
        elif remaining <= MAX_REMAINING:
            append(bytes((command,)) + remaining_length(remaining))
        else:
            return None
        append(field)
        append(_mid5(mid, 0) if mqtt5 else _mid311(mid))
        append(payload)
    return b"".join(parts)
