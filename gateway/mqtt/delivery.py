"""Rules for handing outbox rows to the broker so that no single row can block the queue.

- A row larger than the broker's Maximum Packet Size (MQTT 5 CONNACK) or `max_record_bytes`
  is published with its `data` cut (gateway/wire.py); one that still does not fit, or whose
  topic the broker would refuse, goes to the outbox's dead-letter table without being sent.
- A row the broker refuses with a PUBACK failure code (an ACL, a quota) goes there too.
- A row on which the broker drops the connection for a packet fault (DISCONNECT with
  Malformed Packet, Packet Too Large, Topic Name Invalid, ...) is sent alone next time; after
  `MAX_ATTEMPTS` such drops it goes to dead letters. A plain connection loss (broker restart,
  network) never counts against a row on MQTT 5. MQTT 3.1.1 has no DISCONNECT from the
  broker (Mosquitto just closes the socket on a packet too large): there every loss with rows
  in flight sends them alone next time, and counts against a row that was alone in flight, so
  a row the broker cannot take is buried after `MAX_ATTEMPTS` drops in a row instead of
  blocking the queue; a row that goes through after a loss is forgiven.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from gateway import wire
from gateway.foundation.metrics import PUBLISH_REFUSED
from gateway.mqtt.batch_publisher import PublishRefused
from gateway.outbox import Outbox, OutboxRow

__all__ = ["MAX_ATTEMPTS", "PACKET_FAULTS", "Suspect", "fit_rows", "packet_size", "settle"]

log = structlog.get_logger("gateway.mqtt")

MAX_ATTEMPTS = 3
PACKET_FAULTS = frozenset({0x81, 0x82, 0x90, 0x93, 0x95, 0x96, 0x97, 0x99, 0x9A, 0x9B})
"""DISCONNECT reason codes that blame a packet we sent (MQTT 5 §3.14.2.1): malformed packet,
protocol error, topic name invalid, receive maximum exceeded, packet too large, message rate
too high, quota exceeded, payload format invalid, retain not supported, QoS not supported."""


def packet_size(topic: str, payload: bytes) -> int:
    """Bytes of a QoS 1 PUBLISH without properties: fixed header, topic, packet id, payload."""
    remaining = 2 + len(topic.encode()) + 2 + 1 + len(payload)
    header = 1 + (
        1 if remaining < 128 else 2 if remaining < 16384 else 3 if remaining < 2**21 else 4
    )
    return header + remaining


def fit_rows(
    rows: Sequence[OutboxRow], max_packet: int | None, max_record: int, outbox: Outbox
) -> list[OutboxRow]:
    """The rows to publish, in order: cut where needed; those that cannot go are buried."""
    out: list[OutboxRow] = []
    for row in rows:
        problem = wire.valid_topic_name(row.topic)
        if problem is not None:
            outbox.dead_letter(row, problem)
            continue
        limit = (
            min(max_record, max_packet - packet_size(row.topic, b"")) if max_packet else max_record
        )
        if len(row.payload) <= limit:
            out.append(row)
            continue
        fitted = _cut(row, limit)
        if fitted is None:
            outbox.dead_letter(
                row, f"{len(row.payload)} bytes exceed the broker's or the record size limit"
            )
            continue
        out.append(fitted)
    return out


def _cut(row: OutboxRow, limit: int) -> OutboxRow | None:
    try:
        body = json.loads(row.payload)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    fitted = wire.fit_data(body, limit, len(row.payload))
    if fitted is None:
        return None
    log.warning("mqtt_record_cut", topic=row.topic[:200], seq=row.seq, bytes=len(row.payload))
    return OutboxRow(row.seq, row.topic, wire.dumps(fitted), row.retain, row.droppable)


def settle(
    rows: Sequence[OutboxRow], outcomes: Sequence[BaseException | None], outbox: Outbox
) -> int:
    """Acknowledge the rows settled before the first transport failure; return how many.

    A row the broker refused (PUBACK failure code) is settled into dead letters: sending it
    again cannot succeed and would hold up everything behind it.
    """
    acked: list[int] = []
    settled = 0
    for row, outcome in zip(rows, outcomes, strict=True):
        if isinstance(outcome, PublishRefused):
            PUBLISH_REFUSED.inc()
            outbox.dead_letter(row, f"refused by the broker: {outcome}")
        elif outcome is not None:
            break
        else:
            acked.append(row.seq)
        settled += 1
    if acked:
        outbox.ack(acked)
    return settled


@dataclass(slots=True)
class Suspect:
    """The oldest unacknowledged row when the broker last dropped us for a packet fault."""

    row: OutboxRow
    attempts: int = 1
    reason: int | None = 0
    """The DISCONNECT reason code; None on MQTT 3.1.1 (the broker gives none)."""
