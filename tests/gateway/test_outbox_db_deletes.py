"""Acknowledged rows leave the table in ranges or by list: the same rows go, the counts agree.

Runs of consecutive seqs are deleted with `BETWEEN` and their sizes summed by SQLite; the
rest by list with each row's size returned. Whatever mix the broker acknowledges (in order,
out of order, twice, rows already gone), the rows left and the table's stats must be what
a count of the table says.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.outbox_db import DeadLetter, OutboxDb, OutboxRow, TableStats, _runs

rows_strategy = st.lists(
    st.tuples(st.integers(min_value=0, max_value=300), st.booleans()), min_size=0, max_size=60
)
acks_strategy = st.lists(
    st.one_of(
        st.tuples(st.integers(min_value=1, max_value=70), st.integers(min_value=1, max_value=20)),
        st.tuples(st.integers(min_value=1, max_value=70), st.just(1)),
    ),
    max_size=8,
)


def counted(path: Path) -> tuple[list[int], TableStats]:
    db = sqlite3.connect(path)
    try:
        seqs = [s for (s,) in db.execute("SELECT seq FROM outbox ORDER BY seq")]
        stats = TableStats()
        for size, droppable in db.execute("SELECT length(payload), droppable FROM outbox"):
            stats.add(size, bool(droppable))
        return seqs, stats
    finally:
        db.close()


@settings(max_examples=150)
@given(rows_strategy, acks_strategy, st.booleans())
@example([(10, True)] * 30 + [(3, False)] * 5, [(1, 20), (33, 1)], False)
@example([(10, False)] * 12 + [(7, True)] * 12, [(5, 16), (2, 1), (24, 1)], True)
def test_rows_left_and_stats_match_the_table(
    shape: list[tuple[int, bool]], runs: list[tuple[int, int]], as_dead: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "o.sqlite"
        db = OutboxDb(path, "normal")
        _, _, stats = db.open()
        rows = [
            OutboxRow(i + 1, f"t/{i}", b"x" * size, i % 3 == 0, droppable)
            for i, (size, droppable) in enumerate(shape)
        ]
        stats = db.commit(rows, [], [], stats, (10**6, 10**9), {}).stats
        acks = [start + k for start, length in runs for k in range(length)]
        acks += acks[:3]  # acknowledged twice
        dead: list[DeadLetter] = []
        if as_dead and rows:
            dead = [DeadLetter(rows[-1], "refused")]
        stats = db.commit([], acks, dead, stats, (10**6, 10**9), {}).stats
        db.close()
        seqs, recount = counted(path)
        gone = set(acks) | {d.row.seq for d in dead}
        assert seqs == [r.seq for r in rows if r.seq not in gone]
        assert stats == recount


@given(st.lists(st.integers(min_value=0, max_value=200), max_size=80))
def test_runs_cover_every_seq_once(seqs: list[int]) -> None:
    ranges, scattered = _runs(seqs)
    covered = [s for first, last in ranges for s in range(first, last + 1)] + scattered
    assert sorted(covered) == sorted(set(seqs))
    assert all(last - first + 1 >= 8 for first, last in ranges)


def test_an_outbox_from_before_gets_the_telemetry_index_in_place_of_the_old_one() -> None:
    """The index on (droppable, seq) cost every row a second b-tree; the drop of the oldest
    telemetry needs only the telemetry rows, by seq."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "o.sqlite"
        old = sqlite3.connect(path)
        old.executescript(
            "CREATE TABLE outbox (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB"
            " NOT NULL, retain INTEGER NOT NULL, droppable INTEGER NOT NULL);"
            "CREATE INDEX outbox_droppable ON outbox (droppable, seq);"
            "INSERT INTO outbox VALUES (1, 't', x'7b7d', 0, 1), (2, 't', x'7b7d', 0, 0);"
        )
        old.close()
        db = OutboxDb(path, "normal")
        last, _, stats = db.open()
        assert (last, stats.rows, stats.fixed_rows) == (2, 2, 1)
        db.close()
        check = sqlite3.connect(path)
        indexes = {n for (n,) in check.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        plan = check.execute(
            "EXPLAIN QUERY PLAN SELECT seq FROM outbox WHERE droppable = 1 ORDER BY seq LIMIT 5"
        ).fetchall()
        check.close()
        assert indexes - {"sqlite_autoindex_meta_1"} == {"outbox_telemetry"}
        assert "outbox_telemetry" in str(plan)


steps_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=6),  # rows inserted
        st.integers(min_value=0, max_value=8),  # oldest rows acknowledged
        st.booleans(),  # reopen the file afterwards
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=100)
@given(steps_strategy, st.sampled_from([5, 10**6]), st.integers(min_value=0, max_value=3))
def test_last_seq_and_counters_survive_every_commit_and_reopen(
    steps: list[tuple[int, int, bool]], max_rows: int, dropped_in_memory: int
) -> None:
    """`meta` is written only when needed, and still gives back the last seq and the counters
    after any mix of inserts, acknowledgements (down to an empty table), drops and restarts."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "o.sqlite"
        db = OutboxDb(path, "normal")
        last, meta, stats = db.open()
        counters = {"dropped": dropped_in_memory, "dead_letters": 0}
        for inserted, acked, reopen in steps:
            rows = [OutboxRow(last + k + 1, "t", b"{}", False, True) for k in range(inserted)]
            in_table = counted(path)[0]
            acks = in_table[:acked]
            outcome = db.commit(rows, acks, [], stats, (max_rows, 10**9), dict(counters))
            stats = outcome.stats
            counters["dropped"] += outcome.dropped
            last += inserted
            if reopen:
                db.close()
                db = OutboxDb(path, "normal")
                reopened_last, meta, stats = db.open()
                assert reopened_last == last
                assert meta.get("dropped", 0) == counters["dropped"]
        db.close()
        db = OutboxDb(path, "normal")
        reopened_last, meta, _ = db.open()
        db.close()
        assert reopened_last == last
        assert meta.get("dropped", 0) == counters["dropped"]


def test_a_steady_commit_leaves_the_counters_alone() -> None:
    """New rows in, older acknowledged rows out: one page fewer to write per commit."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "o.sqlite"
        db = OutboxDb(path, "normal")
        _, _, stats = db.open()
        first = [OutboxRow(s, "t", b"{}", False, True) for s in (1, 2, 3)]
        stats = db.commit(first, [], [], stats, (10**6, 10**9), {"dropped": 0}).stats
        statements: list[str] = []
        assert db._db is not None
        db._db.set_trace_callback(statements.append)
        more = [OutboxRow(s, "t", b"{}", False, True) for s in (4, 5)]
        stats = db.commit(more, [1, 2, 3], [], stats, (10**6, 10**9), {"dropped": 0}).stats
        assert statements and not [s for s in statements if "meta" in s]
        statements.clear()
        db.commit([], [4, 5], [], stats, (10**6, 10**9), {"dropped": 0})  # now empty
        assert [s for s in statements if "meta" in s]  # the last seq must outlive its row
        db._db.set_trace_callback(None)
        db.close()
        db = OutboxDb(path, "normal")
        assert db.open()[0] == 5
        db.close()
