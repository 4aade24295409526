"""The outbox's SQLite file: rows waiting for the broker, dead letters and counters.

One `commit()` is one transaction: new rows, deletions of acknowledged rows, dead letters and
the drop of the oldest telemetry when a bound is passed all land together or not at all, so
the counters (`last_seq`, `dropped`, `dead_letters`) always agree with the rows. A counter is
written only when it changed, and `last_seq` only when a commit may have deleted the newest
row (while that row is in the table, its seq is the last one): under steady load a commit
inserts rows and deletes older acknowledged ones, and the `meta` table is not touched.

A commit runs on the event loop's thread and never waits for the disk: the connection writes
the WAL without syncing it (`synchronous=NORMAL`, no automatic checkpoint), which costs a few
microseconds of CPU per row. What waits for the disk runs on the outbox's database thread:
`sync()` (the WAL's `fdatasync` when `synchronous=full`, after which every commit so far is
durable, and a checkpoint once enough was written) and `select()` (reading a backlog back),
each on a second connection of that thread's own. Run on that thread instead, each commit
took and gave back the interpreter's lock once per row while the loop was busy: about a
thread switch per row, a tenth of the process's CPU in switches under load, and commits of
a thousand rows that crawled while durable answers waited for them.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.foundation.errors import StateFileDamaged
from gateway.foundation.model.fast_init import fast_init

__all__ = [
    "DeadLetter",
    "OutboxDamaged",
    "OutboxDb",
    "OutboxRow",
    "TableStats",
    "set_aside",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL,
    droppable INTEGER NOT NULL
);
DROP INDEX IF EXISTS outbox_droppable;
CREATE INDEX IF NOT EXISTS outbox_telemetry ON outbox (seq) WHERE droppable = 1;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letter (
    seq INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
"""

DEAD_LETTERS_KEPT = 1000
"""Dead letters kept for inspection (`sqlite3 outbox.sqlite 'select * from dead_letter'`);
older ones are deleted, the counter keeps them all."""
_CHUNK = 500
_CHECKPOINT_CHANGES = 4000
"""Rows inserted or deleted between two checkpoints (SQLite's own default is 1000 pages:
about as many rows of a few hundred bytes, each written to the table and its index)."""
_RUN = 8
"""Consecutive acknowledged seqs deleted as one `BETWEEN` range (no value per row bound or
returned); shorter runs go into one `IN (...)` list."""

_INSERT = "INSERT INTO outbox (seq, topic, payload, retain, droppable) VALUES (?,?,?,?,?)"
_RANGE_STATS = (
    "SELECT count(*), coalesce(sum(length(payload)), 0), coalesce(sum(droppable = 0), 0), "
    "coalesce(sum(CASE WHEN droppable THEN 0 ELSE length(payload) END), 0) "
    "FROM outbox WHERE seq BETWEEN ? AND ?"
)
_RANGE_DELETE = "DELETE FROM outbox WHERE seq BETWEEN ? AND ?"

# A payload binds as the blob it is either way; registered, sqlite3 finds this adapter in its
# table instead of failing two attribute lookups (each a formatted AttributeError) per row.
sqlite3.register_adapter(bytes, bytes)


@fast_init
@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    topic: str
    payload: bytes
    retain: bool
    droppable: bool


@dataclass(frozen=True, slots=True)
class DeadLetter:
    row: OutboxRow
    reason: str


@dataclass(slots=True)
class TableStats:
    """Rows and payload bytes in the table, and the part that may never be dropped."""

    rows: int = 0
    bytes: int = 0
    fixed_rows: int = 0
    fixed_bytes: int = 0

    def add(self, size: int, droppable: bool, sign: int = 1) -> None:
        self.rows += sign
        self.bytes += sign * size
        if not droppable:
            self.fixed_rows += sign
            self.fixed_bytes += sign * size


@dataclass(slots=True)
class CommitOutcome:
    stats: TableStats
    dropped: int = 0
    dropped_seqs: list[int] = field(default_factory=list)


class OutboxDamaged(StateFileDamaged):
    """The outbox file cannot be opened as a database (e.g. after a power cut on an SD card)."""

    def __init__(self, path: Path, detail: str) -> None:
        self.detail = detail
        super().__init__(
            path,
            f"outbox database {path} is damaged ({detail}); its undelivered records cannot be "
            f"read. Move it aside and start with an empty outbox: "
            f"'pilebridge run --set-aside-damaged-outbox -c CONFIG' (keeps it as "
            f"{path.name}.damaged-<time>), see docs/reliability.md",
        )


def set_aside(path: Path) -> Path:
    """Rename a damaged outbox (and its WAL files) to `<name>.damaged-<time>`; a fresh one
    is created at the next open. Returns the new name of the main file."""
    suffix = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = path.with_name(f"{path.name}.damaged-{suffix}")
    for extra in ("-wal", "-shm"):
        companion = path.with_name(path.name + extra)
        if companion.exists():
            companion.rename(target.with_name(target.name + extra))
    path.rename(target)
    return target


class OutboxDb:
    def __init__(self, path: Path, synchronous: str) -> None:
        self.path = path
        self._synchronous = synchronous.upper()
        self._sync_wal = self._synchronous in ("FULL", "EXTRA")
        """Whether `sync()` makes commits durable (what `synchronous=full` does at COMMIT)."""
        self._db: sqlite3.Connection | None = None
        """The writer: used on the event loop's thread once open."""
        self._beside: sqlite3.Connection | None = None
        """Checkpoints and reads: used on the database thread only."""
        self._changes = 0
        """Rows inserted or deleted since the last checkpoint."""
        self._last_seq = 0
        """The highest seq committed (in the table, or in `meta` once its row is gone)."""
        self._stored: dict[str, int] = {}
        """The counters as the `meta` table holds them."""
        self._wal_fd: int | None = None
        """The WAL, open for `sync()` from its first until `close()`."""

    @property
    def wal_path(self) -> Path:
        return self.path.with_name(self.path.name + "-wal")

    def open(self) -> tuple[int, dict[str, int], TableStats]:
        """(last committed seq, counters, table stats); OutboxDamaged if it is not a database.

        On the database thread; the writer connection it opens is used on the loop's."""
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            writer_sync = "NORMAL" if self._sync_wal else self._synchronous
            db.execute(f"PRAGMA synchronous={writer_sync}")
            db.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints: sync(), on the thread
            db.executescript(_SCHEMA)
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            max_row = db.execute("SELECT max(seq) FROM outbox").fetchone()[0] or 0
            stats = TableStats()
            for droppable, rows, size in db.execute(
                "SELECT droppable, count(*), coalesce(sum(length(payload)), 0) "
                "FROM outbox GROUP BY droppable"
            ):
                stats.rows += rows
                stats.bytes += size
                if not droppable:
                    stats.fixed_rows, stats.fixed_bytes = rows, size
        except sqlite3.OperationalError:
            raise  # locked, read-only, disk full: not damage, the caller reports it as it is
        except sqlite3.DatabaseError as exc:
            raise OutboxDamaged(self.path, str(exc)) from None
        try:
            beside = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            beside.execute(f"PRAGMA synchronous={self._synchronous}")  # checkpoints sync as asked
        except sqlite3.Error:
            db.close()
            raise
        self._db, self._beside = db, beside
        self._last_seq = max(meta.get("last_seq", 0), max_row)
        self._stored = dict(meta)
        return self._last_seq, meta, stats

    def close(self) -> None:
        """On the database thread, once the writer is done (the last close checkpoints)."""
        if self._wal_fd is not None:
            os.close(self._wal_fd)
            self._wal_fd = None
        if self._beside is not None:
            self._beside.close()
            self._beside = None
        if self._db is not None:
            self._db.close()
            self._db = None

    def sync(self) -> None:
        """Make every commit so far durable, then checkpoint if enough was written.

        On the database thread. `fdatasync` of the WAL is what SQLite does at each COMMIT
        with `synchronous=full`; done here, one sync covers every commit since the last. An
        OSError means the last commits are not known to be on disk."""
        if self._sync_wal:
            if self._wal_fd is None:
                self._wal_fd = os.open(self.wal_path, os.O_RDONLY | os.O_CLOEXEC)
            os.fdatasync(self._wal_fd)
        if self._changes >= _CHECKPOINT_CHANGES and self._beside is not None:
            self._changes = 0
            # PASSIVE: copies what no reader needs, never waits for the writer; the writer
            # starts the WAL over once all of it was copied.
            self._beside.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def commit(
        self,
        rows: Sequence[OutboxRow],
        acks: Sequence[int],
        dead: Sequence[DeadLetter],
        stats: TableStats,
        bounds: tuple[int, int],
        counters: dict[str, int],
    ) -> CommitOutcome:
        """One transaction; returns the table's new stats and what the bounds dropped.

        `counters` (`dropped`, `dead_letters`) are written as given plus this commit's drops.
        On any error nothing is changed (the transaction rolls back) and the error is raised.
        """
        db = self._db
        assert db is not None
        after = TableStats(stats.rows, stats.bytes, stats.fixed_rows, stats.fixed_bytes)
        outcome = CommitOutcome(after)
        written: dict[str, int] = {}
        try:
            self._write(db, rows, acks, dead, after, outcome, bounds, counters, written)
            self._changes += len(rows) + len(acks) + outcome.dropped
        except BaseException:
            if db.in_transaction:  # COMMIT itself can fail (disk full): never leave it open
                db.rollback()
            raise
        if rows:
            self._last_seq = rows[-1].seq
        self._stored.update(written)
        return outcome

    def _write(
        self,
        db: sqlite3.Connection,
        rows: Sequence[OutboxRow],
        acks: Sequence[int],
        dead: Sequence[DeadLetter],
        after: TableStats,
        outcome: CommitOutcome,
        bounds: tuple[int, int],
        counters: dict[str, int],
        written: dict[str, int],
    ) -> None:
        with db:
            db.execute("BEGIN")
            gone = [*acks, *(d.row.seq for d in dead)]
            if gone:
                self._delete(db, gone, after)
            if dead:
                self._bury(db, dead)
            if rows:
                db.executemany(
                    _INSERT,
                    (
                        (r.seq, r.topic, r.payload, 1 if r.retain else 0, 1 if r.droppable else 0)
                        for r in rows
                    ),
                )
                _count_inserted(rows, after)
            max_rows, max_bytes = bounds
            if after.rows > max_rows or after.bytes > max_bytes:
                self._drop_oldest(db, after, outcome, max_rows, max_bytes)
            if (gone or outcome.dropped) and (not rows or outcome.dropped):
                written["last_seq"] = rows[-1].seq if rows else self._last_seq
            written["dropped"] = counters.get("dropped", 0) + outcome.dropped
            if dead:
                written["dead_letters"] = counters.get("dead_letters", 0) + len(dead)
            for key, value in list(written.items()):
                if self._stored.get(key, 0) == value:
                    del written[key]
                else:
                    _set(db, key, value)

    def _delete(self, db: sqlite3.Connection, seqs: list[int], after: TableStats) -> None:
        """Delete these rows (missing ones are skipped) and take them out of `after`.

        Acknowledgements mostly come in order, so most rows go in a few `BETWEEN` ranges
        whose totals SQLite sums; the rest are deleted by list, each returning its size.
        """
        ranges, scattered = _runs(seqs)
        for first, last in ranges:
            rows, size, fixed_rows, fixed_size = db.execute(_RANGE_STATS, (first, last)).fetchone()
            db.execute(_RANGE_DELETE, (first, last))
            after.rows -= rows
            after.bytes -= size
            after.fixed_rows -= fixed_rows
            after.fixed_bytes -= fixed_size
        for i in range(0, len(scattered), _CHUNK):
            chunk = scattered[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for size, droppable in db.execute(
                f"DELETE FROM outbox WHERE seq IN ({marks}) RETURNING length(payload), droppable",
                chunk,
            ).fetchall():
                after.add(size, bool(droppable), -1)

    def _bury(self, db: sqlite3.Connection, dead: Sequence[DeadLetter]) -> None:
        now = time.time()
        db.executemany(
            "INSERT OR REPLACE INTO dead_letter (seq, topic, payload, reason, at) VALUES (?,?,?,?,?)",
            ((d.row.seq, d.row.topic, d.row.payload, d.reason, now) for d in dead),
        )
        db.execute(
            "DELETE FROM dead_letter WHERE seq NOT IN "
            "(SELECT seq FROM dead_letter ORDER BY seq DESC LIMIT ?)",
            (DEAD_LETTERS_KEPT,),
        )

    def _drop_oldest(
        self,
        db: sqlite3.Connection,
        after: TableStats,
        outcome: CommitOutcome,
        max_rows: int,
        max_bytes: int,
    ) -> None:
        """Delete the oldest telemetry until both bounds hold (or no telemetry is left)."""
        while after.rows > max_rows or after.bytes > max_bytes:
            candidates = db.execute(
                "SELECT seq, length(payload) FROM outbox WHERE droppable = 1 ORDER BY seq LIMIT ?",
                (_CHUNK,),
            ).fetchall()
            if not candidates:
                return
            chosen: list[int] = []
            for seq, size in candidates:
                if after.rows <= max_rows and after.bytes <= max_bytes:
                    break
                chosen.append(seq)
                after.add(size, True, -1)
            db.executemany("DELETE FROM outbox WHERE seq = ?", ((s,) for s in chosen))
            outcome.dropped += len(chosen)
            outcome.dropped_seqs += chosen

    def select(self, after_seq: int, until_seq: int, limit: int) -> list[OutboxRow]:
        """Rows with after_seq < seq <= until_seq (the last durable one), oldest first; on
        the database thread."""
        db = self._beside
        assert db is not None
        cur = db.execute(
            "SELECT seq, topic, payload, retain, droppable FROM outbox "
            "WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
            (after_seq, until_seq, limit),
        )
        return [OutboxRow(s, t, bytes(p), bool(r), bool(d)) for s, t, p, r, d in cur]


def _runs(seqs: Iterable[int]) -> tuple[list[tuple[int, int]], list[int]]:
    """`(first, last)` of every run of at least `_RUN` consecutive seqs, and the seqs left."""
    ordered = sorted(set(seqs))
    if ordered and ordered[-1] - ordered[0] == len(ordered) - 1 >= _RUN - 1:
        return [(ordered[0], ordered[-1])], []  # the usual case: one run, no loop per row
    ranges: list[tuple[int, int]] = []
    scattered: list[int] = []
    start = 0
    for i in range(1, len(ordered) + 1):
        if i == len(ordered) or ordered[i] != ordered[i - 1] + 1:
            if i - start >= _RUN:
                ranges.append((ordered[start], ordered[i - 1]))
            else:
                scattered += ordered[start:i]
            start = i
    return ranges, scattered


def _count_inserted(rows: Sequence[OutboxRow], after: TableStats) -> None:
    after.rows += len(rows)
    after.bytes += sum([len(r.payload) for r in rows])
    fixed = [len(r.payload) for r in rows if not r.droppable]
    if fixed:
        after.fixed_rows += len(fixed)
        after.fixed_bytes += sum(fixed)


def _set(db: sqlite3.Connection, key: str, value: int) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
