"""Durable, ordered, bounded outbox between record producers and the MQTT broker.

Records are stamped (`seq`, `ts`), serialised once and appended to an SQLite table in WAL mode.
Writes are group-committed by one writer task on one database thread: everything put while a
commit runs goes into the next transaction, so the cost per record stays flat under load.

`seq` is one counter per gateway, kept in the same transaction as the rows it numbers, so it
survives restarts and never repeats. A row is deleted only after the broker acknowledged it
(QoS 1 PUBACK). When more than `max_records` wait, the oldest droppable (telemetry) rows go
first and the drop is counted; transaction events and state are never dropped.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.foundation.clock import Clock, SystemClock, format_ts

__all__ = ["Outbox", "OutboxRow"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL,
    droppable INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_droppable ON outbox (droppable, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

_RECENT_CAP = 20_000
"""Committed rows kept in memory so a publisher that keeps up never reads the table back."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    topic: str
    payload: bytes
    retain: bool
    droppable: bool


class Outbox:
    def __init__(
        self,
        path: Path,
        *,
        max_records: int = 1_000_000,
        synchronous: str = "full",
        clock: Clock | None = None,
    ) -> None:
        self._path = path
        self._max_records = max_records
        self._synchronous = synchronous.upper()
        self._clock = clock or SystemClock()
        self._db: sqlite3.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-db")
        self._next_seq = 1
        self._depth = 0
        self._dropped = 0
        self._pending: list[OutboxRow] = []
        self._pending_futures: list[asyncio.Future[None]] = []
        self._acks: list[int] = []
        self._acked_in_table: set[int] = set()
        """Acknowledged rows whose DELETE is not committed yet; never handed out again."""
        self._recent: deque[OutboxRow] = deque()
        self._wake = asyncio.Event()
        self._committed = asyncio.Event()
        self._empty = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._open_db)
        self._writer = asyncio.create_task(self._write_loop(), name="outbox-writer")

    def _open_db(self) -> None:
        db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={self._synchronous}")
        db.executescript(_SCHEMA)
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        max_row = db.execute("SELECT max(seq) FROM outbox").fetchone()[0] or 0
        self._next_seq = max(meta.get("last_seq", 0), max_row) + 1
        self._dropped = meta.get("dropped", 0)
        self._depth = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        self._db = db

    async def close(self) -> None:
        """Commit what was put, then close. Rows not yet acknowledged stay for the next start."""
        if self._writer is None:
            return
        self._closing = True
        self._wake.set()
        await self._writer
        self._writer = None
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close_db)
        self._executor.shutdown(wait=True)

    def _close_db(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- producers -------------------------------------------------------------------------

    def put(
        self, topic: str, body: dict[str, Any], *, retain: bool = False, droppable: bool = True
    ) -> asyncio.Future[None]:
        """Stamp and queue a record; the returned future resolves once it is on disk.

        Producers of telemetry need not await it; producers of transaction events do, before
        they acknowledge the device (so a crash makes the device retry rather than lose it).
        """
        if self._writer is None or self._closing:
            raise RuntimeError("outbox is not open")
        seq = self._next_seq
        self._next_seq = seq + 1
        stamped = {"seq": seq, "ts": format_ts(self._clock.time()), **body}
        payload = json.dumps(stamped, separators=(",", ":"), ensure_ascii=False).encode()
        self._pending.append(OutboxRow(seq, topic, payload, retain, droppable))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending_futures.append(future)
        self._empty.clear()
        self._wake.set()
        return future

    # -- consumer (the MQTT publisher) -----------------------------------------------------

    async def fetch(self, after_seq: int, limit: int) -> list[OutboxRow]:
        """Committed rows with seq > after_seq, oldest first; waits while there are none."""
        while True:
            recent = self._recent
            while recent and recent[0].seq <= after_seq:
                recent.popleft()
            if recent and recent[0].seq == after_seq + 1:
                n = min(limit, len(recent))
                return [recent[i] for i in range(n)]
            if self._depth > 0 or self._pending or recent:
                loop = asyncio.get_running_loop()
                rows = await loop.run_in_executor(self._executor, self._select, after_seq, limit)
                rows = [r for r in rows if r.seq not in self._acked_in_table]
                if rows:
                    return rows
            self._committed.clear()
            await self._committed.wait()

    def ack(self, seqs: Iterable[int]) -> None:
        """The broker has these rows; delete them in the next write transaction."""
        acked = list(seqs)
        self._acks.extend(acked)
        self._acked_in_table.update(acked)
        self._forget_recent(acked)
        self._depth -= len(acked)
        if self.depth <= 0:
            self._empty.set()
        self._wake.set()

    def _forget_recent(self, acked: list[int]) -> None:
        if not acked or not self._recent:
            return
        gone = set(acked)
        recent = self._recent
        while recent and recent[0].seq in gone:
            recent.popleft()
        if recent and max(gone) >= recent[0].seq:  # acknowledged out of order: rare
            self._recent = deque(r for r in recent if r.seq not in gone)

    @property
    def depth(self) -> int:
        """Rows waiting for the broker (committed or about to be)."""
        return self._depth + len(self._pending)

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    async def wait_empty(self) -> None:
        """Wait until the broker has acknowledged every row."""
        if self.depth > 0:
            self._empty.clear()
            await self._empty.wait()

    async def flushed(self) -> None:
        """Wait until everything put so far is committed."""
        if self._pending_futures:
            await asyncio.gather(*self._pending_futures)

    # -- the writer ------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            rows, futures, acks = self._pending, self._pending_futures, self._acks
            self._pending, self._pending_futures, self._acks = [], [], []
            if rows or acks:
                excess = self._depth + len(rows) - self._max_records
                try:
                    dropped, counted = await loop.run_in_executor(
                        self._executor, self._commit, rows, acks, excess
                    )
                except Exception as exc:
                    for fut in futures:
                        if not fut.done():
                            fut.set_exception(exc)
                    raise
                self._acked_in_table.difference_update(acks)
                if dropped:
                    # Rows in flight may have been dropped: count again rather than guess.
                    self._depth = counted - len(self._acks)
                    self._recent.clear()  # the table lost rows that may still be in memory
                else:
                    self._depth += len(rows)
                    self._recent.extend(rows)
                    while len(self._recent) > _RECENT_CAP:
                        self._recent.popleft()
                for fut in futures:
                    if not fut.done():
                        fut.set_result(None)
                self._committed.set()
            if self._closing and not self._pending and not self._acks:
                return

    def _commit(self, rows: list[OutboxRow], acks: list[int], excess: int) -> tuple[int, int]:
        """Write one transaction; return (rows dropped, rows in the table if any were dropped)."""
        db = self._db
        assert db is not None
        dropped = counted = 0
        with db:  # one transaction
            db.execute("BEGIN")
            if acks:
                db.executemany("DELETE FROM outbox WHERE seq = ?", ((s,) for s in acks))
            if rows:
                db.executemany(
                    "INSERT INTO outbox (seq, topic, payload, retain, droppable) VALUES (?,?,?,?,?)",
                    ((r.seq, r.topic, r.payload, r.retain, r.droppable) for r in rows),
                )
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('last_seq', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (rows[-1].seq,),
                )
            if excess > 0:
                cur = db.execute(
                    "DELETE FROM outbox WHERE seq IN "
                    "(SELECT seq FROM outbox WHERE droppable = 1 ORDER BY seq LIMIT ?)",
                    (excess,),
                )
                dropped = cur.rowcount
                if dropped:
                    self._dropped += dropped
                    db.execute(
                        "INSERT INTO meta (key, value) VALUES ('dropped', ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        (self._dropped,),
                    )
                    counted = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        return dropped, counted

    def _select(self, after_seq: int, limit: int) -> list[OutboxRow]:
        db = self._db
        assert db is not None
        cur = db.execute(
            "SELECT seq, topic, payload, retain, droppable FROM outbox "
            "WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
        return [OutboxRow(s, t, bytes(p), bool(r), bool(d)) for s, t, p, r, d in cur]
