"""What a control centre checks on what it received: drop repeated `seq`s, then no gap.

The consumer rule of docs/mqtt-api.md: QoS 1 may deliver a record twice (same `seq`, same
bytes); a `seq` already seen is a repeat; after that, `seq` runs 1, 2, 3 ... On one broker the
records arrive in `seq` order (checked with `in_order=True`); through a bridge a reconnect may
reorder a few (docs/fleet.md), so a consumer there sorts by `seq` before looking for gaps.
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Collector

__all__ = ["assert_no_gap", "deduped", "seq_arrived"]


def deduped(collector: Collector, *, in_order: bool = True) -> list[tuple[str, dict[str, Any]]]:
    """(topic, body) of every seq-stamped message, each `seq` once, by `seq`; a repeat must
    be the same record, byte for byte. `in_order`: a `seq` not above the highest seen must be
    a repeat (one broker keeps order); else records may come in any order."""
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
            continue
        assert not in_order or seq > highest, f"seq {seq} arrived after {highest}"
        first[seq] = payload
        highest = max(highest, seq)
        kept.append((str(message.topic), body))
    return sorted(kept, key=lambda item: int(item[1]["seq"]))


def assert_no_gap(records: list[tuple[str, dict[str, Any]]], last_seq: int) -> None:
    seqs = [body["seq"] for _, body in records]
    missing = sorted(set(range(1, last_seq + 1)) - set(seqs))
    assert not missing, f"{len(missing)} seqs never arrived, first {missing[:10]}"
    assert seqs == list(range(1, last_seq + 1))


async def seq_arrived(collector: Collector, seq: int, timeout_s: float = 60.0) -> None:
    """Until the record with this seq reached the subscriber."""
    marker = b'{"seq":%d,' % seq
    await collector.wait_for(
        lambda: any(
            isinstance(m.payload, bytes) and m.payload.startswith(marker)
            for m in collector.messages
        ),
        timeout_s,
    )
