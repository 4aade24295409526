"""What a control centre checks on what it received: drop repeated `seq`s, then no gap.

The consumer rule of docs/mqtt-api.md: QoS 1 may deliver a record twice (same `seq`, same
bytes); a `seq` not above the highest seen is a repeat; after that, `seq` runs 1, 2, 3 ...
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Collector

__all__ = ["assert_no_gap", "deduped"]


def deduped(collector: Collector) -> list[tuple[str, dict[str, Any]]]:
    """(topic, body) of every seq-stamped message, dropping any seq not above the highest seen
    (the consumer rule of docs/mqtt-api.md); a repeat must be the same record, byte for byte."""
    first: dict[int, bytes] = {}
    kept: list[tuple[str, dict[str, Any]]] = []
    highest = 0
    for message in list(collector.messages):
        payload = message.payload
        if not isinstance(payload, bytes) or not payload.startswith(b"{"):
            continue
        body = json.loads(payload)
        seq = body.get("seq")
        if not isinstance(seq, int):
            continue
        if seq in first:
            assert first[seq] == payload, f"seq {seq} reused for a different record"
        first.setdefault(seq, payload)
        if seq > highest:
            highest = seq
            kept.append((str(message.topic), body))
    return kept


def assert_no_gap(records: list[tuple[str, dict[str, Any]]], last_seq: int) -> None:
    seqs = [body["seq"] for _, body in records]
    missing = sorted(set(range(1, last_seq + 1)) - set(seqs))
    assert not missing, f"{len(missing)} seqs never arrived, first {missing[:10]}"
    assert seqs == list(range(1, last_seq + 1))
