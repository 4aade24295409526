"""The outbox's consumer side keeps its books as the plain walk over every kept row did.

`ack()` takes acknowledged rows from the front of the rows kept in memory and notes their
sizes as it goes; the reference below is the walk it replaced (every kept row looked at for
every acknowledgement). Generated sequences of acknowledgements (in order, out of order,
repeated, of rows never kept) and dead letters leave both with the same kept rows, the same
noted sizes and the same `bytes` and `depth`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from itertools import islice
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.outbox import Outbox, OutboxRow
from gateway.outbox_db import DeadLetter, TableStats


def reference_forget(outbox: Outbox, acked: list[int]) -> None:
    if not acked or not outbox._recent:
        return
    gone = set(acked)
    recent = outbox._recent
    while recent and recent[0].seq in gone:
        recent.popleft()
    if recent and max(gone) >= recent[0].seq:
        outbox._recent = deque(r for r in recent if r.seq not in gone)


def reference_ack(outbox: Outbox, seqs: list[int]) -> None:
    acked = [s for s in seqs if s not in outbox._acked_in_table]
    outbox._acks.extend(acked)
    outbox._acked_in_table.update(acked)
    if acked and outbox._recent:
        gone = set(acked)
        for row in outbox._recent:
            if row.seq in gone:
                outbox._acked_sizes[row.seq] = len(row.payload)
                outbox._acked_bytes += len(row.payload)
    reference_forget(outbox, acked)


def reference_dead_letter(outbox: Outbox, row: OutboxRow) -> None:
    if row.seq in outbox._acked_in_table:
        return
    outbox._dead.append(DeadLetter(row, "refused"))
    outbox._acked_in_table.add(row.seq)
    reference_forget(outbox, [row.seq])


def kept(rows: list[OutboxRow]) -> Outbox:
    """An outbox (never opened: no file) whose table and memory hold `rows`, all committed."""
    outbox = Outbox(Path("never-opened.sqlite"))
    outbox._recent = deque(rows)
    outbox._table = TableStats(rows=len(rows), bytes=sum(len(r.payload) for r in rows))
    return outbox


def books(outbox: Outbox) -> tuple[Any, ...]:
    return (
        [r.seq for r in outbox._recent],
        dict(outbox._acked_sizes),
        outbox._acked_bytes,
        list(outbox._acks),
        sorted(outbox._acked_in_table),
        [d.row.seq for d in outbox._dead],
        outbox.bytes,
        outbox.depth,
    )


operations = st.lists(
    st.tuples(
        st.sampled_from(["ack_front", "ack_any", "dead"]),
        st.lists(st.integers(0, 45), max_size=8),
    ),
    max_size=12,
)


@settings(max_examples=100)  # cheap: no file, no broker
@given(
    seqs=st.lists(st.integers(1, 40), unique=True, max_size=30).map(sorted),
    sizes=st.lists(st.integers(0, 50), min_size=30, max_size=30),
    ops=operations,
    limit=st.integers(1, 40),
)
def test_acknowledgements_keep_the_books_as_the_full_walk_did(
    seqs: list[int], sizes: list[int], ops: list[Any], limit: int
) -> None:
    rows = [OutboxRow(s, "t", b"x" * sizes[i], False, True) for i, s in enumerate(seqs)]
    fast, slow = kept(rows), kept(rows)
    for kind, picks in ops:
        if kind == "ack_front":  # the batch publisher's way: the oldest kept rows, in order
            front = [r.seq for r in islice(fast._recent, len(picks))]
            fast.ack(front)
            reference_ack(slow, front)
        elif kind == "ack_any":
            fast.ack(picks)
            reference_ack(slow, picks)
        else:
            for row in (r for r in rows if r.seq in picks):
                fast.dead_letter(row, "refused")
                reference_dead_letter(slow, row)
        assert books(fast) == books(slow)
        if fast._recent:  # what the publisher is handed next
            cursor = fast._recent[0].seq - 1
            got = asyncio.run(fast.fetch(cursor, limit))
            assert got == [slow._recent[i] for i in range(min(limit, len(slow._recent)))]
