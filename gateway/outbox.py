"""Durable, ordered, bounded outbox between record producers and the MQTT broker.

`put()` serialises a record once (strict JSON, gateway/wire.py) and queues it; a record that
cannot be serialised, has an unusable topic or is too large even with its `data` cut is
refused there (its future fails with `RecordRefused`), so it can never poison the queue.
One writer task group-commits what was put to an SQLite table (WAL): the commit on the event
loop (CPU only, a few microseconds a row), the wait for the disk on the outbox's database
thread (`OutboxDb.sync`); a record is durable, handed to the publisher and its producer told
so only once that sync is done.

Under steady load (records arriving one by one, as chargers send them) commits are spaced at
least `commit_window_s` apart, so one fsync carries every record of that window instead of
one each; a record put after a quiet spell is committed at once, and close() never waits. A
producer awaiting its record (a transaction event, before the charger is answered) waits at
most one window more. Deletions of acknowledged rows ride along with the next insert (or go
alone after `_ACK_DELAY_S` of quiet): a crash in between only means the broker gets those rows
again, with their seq, which consumers already use to drop redeliveries.

`seq` is assigned by the writer in the transaction that stores the rows, so only committed
records have one: a failed commit or a refused record leaves no gap. A failed commit (disk
full, I/O error) does not end the writer: it keeps the rows in memory (bounded), retries with
backoff and reports `failing`; records that are never dropped and cannot be committed within
`durable_timeout_s` are withdrawn and their futures fail with `OutboxUnavailable`, so an OCPP
handler waiting for durability answers the charger with an error and the charger retries.

A failed sync (an I/O error from `fdatasync`) leaves the commit in the table but not known to
be on disk: nothing more is committed, those rows are not handed out and their producers not
told, until a sync succeeds (retried with backoff, reported like a failed commit); records that
are never dropped and wait past `durable_timeout_s` fail with `OutboxUnavailable`, and are
still delivered once a sync succeeds (a charger's retry then doubles them, never loses them).

A row is deleted only after the broker acknowledged it (QoS 1 PUBACK) or was moved to the
dead-letter table. Past `max_records` rows or `max_bytes` payload bytes the oldest telemetry
goes first, counted; records that are never dropped (transactions, events, state) are refused
instead once they alone fill the bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import structlog

from gateway import wire
from gateway.foundation.backoff import backoff_delays
from gateway.foundation.clock import Clock, SystemClock, format_ts
from gateway.foundation.recording import OutboxUnavailable, RecordRefused
from gateway.outbox_db import (
    CommitOutcome,
    DeadLetter,
    OutboxDamaged,
    OutboxDb,
    OutboxRow,
    TableStats,
)
from gateway.outbox_thread import OutboxThread

__all__ = ["Outbox", "OutboxDamaged", "OutboxRow", "OutboxUnavailable", "RecordRefused"]

log = structlog.get_logger("gateway.outbox")

_RECENT_CAP = 20_000
"""Committed rows kept in memory so a publisher that keeps up never reads the table back."""
_LOGGED_TOPICS_CAP = 1000
COMMIT_WINDOW_S = 0.01
"""Shortest spacing of two commits under load: at most 10 ms added to a durable answer."""
_ACK_DELAY_S = 1.0
"""Longest an acknowledged row's DELETE waits for an insert to ride along with."""
_COMMIT_ROWS = 2000
"""Most records one commit takes (the rest go in the next): a commit holds the event loop,
so a backlog kept in memory while the disk failed is written a few milliseconds at a time."""


@dataclass(slots=True)
class _Pending:
    topic: str
    body: bytes  # `{"ts":...,...}` without seq
    retain: bool
    droppable: bool
    future: asyncio.Future[None]
    deadline: float  # monotonic; only for records that are never dropped
    gone: bool = False  # dropped or withdrawn while waiting in memory


class Outbox:
    _loop: asyncio.AbstractEventLoop
    """The loop it was opened on, where records are put (looked up once, not per record)."""

    def __init__(
        self,
        path: Path,
        *,
        max_records: int = 1_000_000,
        max_bytes: int = 256 * 1024 * 1024,
        max_record_bytes: int = 128 * 1024,
        max_memory_bytes: int = 32 * 1024 * 1024,
        durable_timeout_s: float = 10.0,
        synchronous: str = "full",
        clock: Clock | None = None,
        commit_window_s: float = COMMIT_WINDOW_S,
    ) -> None:
        self._db = OutboxDb(path, synchronous)
        self._max_records = max_records
        self._max_bytes = max_bytes
        self._max_record_bytes = max_record_bytes
        self._max_memory_bytes = max_memory_bytes
        self._durable_timeout_s = durable_timeout_s
        self._clock = clock or SystemClock()
        self._thread = OutboxThread("outbox-db")
        self._next_seq = 1
        self._table = TableStats()
        self._counters: dict[str, int] = {"dropped": 0, "dead_letters": 0}
        self._pending: list[_Pending] = []
        self._pending_bytes = 0
        self._pending_live = 0
        self._pending_fixed = [0, 0]  # rows, bytes of pending records never dropped
        self._pending_droppable: deque[_Pending] = deque()
        self._inflight: list[_Pending] = []
        """Records in the commit being written or synced (no longer in `_pending`)."""
        self._unsynced: list[OutboxRow] = []
        """Rows of the commit waiting for its sync (kept while syncs fail): not handed out
        before it succeeds."""
        self._unsynced_in_table = True
        """False when that commit also dropped rows: they are read back from the table."""
        self._sync_due = False
        """A commit waits for its sync (`_unsynced` may be empty: deletions only)."""
        self._acks: list[int] = []
        self._dead: list[DeadLetter] = []
        self._acked_in_table: set[int] = set()
        """Acknowledged rows whose DELETE is not committed yet; never handed out again."""
        self._recent: deque[OutboxRow] = deque()
        self._acked_sizes: dict[int, int] = {}
        self._acked_bytes = 0
        self._wake = asyncio.Event()
        self._rows_put = asyncio.Event()
        self._close_requested = asyncio.Event()
        self._commit_window_s = commit_window_s
        self._last_commit_s = -float("inf")
        self.commits = 0
        """Write transactions so far (records per commit = last_seq / commits, roughly)."""
        self._committed = asyncio.Event()
        self._empty = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self.refused = 0
        self.truncated = 0
        self.withdrawn = 0
        self.commit_failures = 0
        self.failing: str | None = None
        """The last commit error while commits fail; None when the last commit succeeded."""
        self.failing_since: float | None = None
        """Monotonic time of the first failed commit in the current failing spell."""
        self._logged_topics: set[tuple[str, str]] = set()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self._db.path

    async def open(self) -> None:
        """Open (or create) the file; OutboxDamaged if it is not a database."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._loop = asyncio.get_running_loop()
        last_seq, meta, stats = await self._thread.run(self._db.open)
        self._next_seq = last_seq + 1
        self._counters = {k: meta.get(k, 0) for k in ("dropped", "dead_letters")}
        self._table = stats
        self._writer = asyncio.create_task(self._write_loop(), name="outbox-writer")

    async def close(self) -> None:
        """Commit what was put, then close. Rows not yet acknowledged stay for the next start.

        While commits fail, close gives the disk one last try and then gives up: what was
        still in memory is lost (logged with its count), the file stays consistent.
        """
        if self._writer is None:
            return
        self._closing = True
        self._close_requested.set()
        self._rows_put.set()
        self._wake.set()
        await self._writer
        self._writer = None
        await self._thread.run(self._db.close)
        await self._thread.stop()

    # -- producers -------------------------------------------------------------------------

    def put(
        self, topic: str, body: dict[str, Any], *, retain: bool = False, droppable: bool = True
    ) -> asyncio.Future[None]:
        """Stamp and queue a record; the returned future resolves once it is on disk.

        Producers of telemetry need not await it; producers of transaction events do, before
        they acknowledge the device (so a crash makes the device retry rather than lose it).
        The future fails with RecordRefused or OutboxUnavailable if the record was not kept.
        """
        if self._writer is None or self._closing:
            raise RuntimeError("outbox is not open")
        future: asyncio.Future[None] = self._loop.create_future()
        try:
            data = self._encode(topic, body)
            size = len(data)
            if not droppable or self._pending_bytes + size > self._max_memory_bytes:
                self._make_room(size, droppable)
        except RecordRefused as exc:
            self._refuse(future, topic, exc)
            return future
        if droppable:
            entry = _Pending(topic, data, retain, droppable, future, 0.0)
            self._pending_droppable.append(entry)
        else:
            deadline = time.monotonic() + self._durable_timeout_s
            entry = _Pending(topic, data, retain, droppable, future, deadline)
            self._pending_fixed[0] += 1
            self._pending_fixed[1] += size
        self._pending.append(entry)
        self._pending_live += 1
        self._pending_bytes += size
        self._empty.clear()
        self._rows_put.set()
        self._wake.set()
        return future

    def _encode(self, topic: str, body: dict[str, Any]) -> bytes:
        problem = wire.valid_topic_name(topic)
        if problem is not None:
            raise RecordRefused(problem)
        ts = format_ts(self._clock.time())
        data = None if "ts" in body else _stamped_dumps(ts, body)
        if data is None:  # refused, or a body with its own `ts`: the whole record once more
            stamped = {"ts": ts, **body}
            try:
                data = wire.dumps(stamped)
            except (ValueError, TypeError, RecursionError) as exc:
                raise RecordRefused(f"not strict JSON: {type(exc).__name__}: {exc}"[:200]) from None
        room = self._max_record_bytes - 24  # the seq field added at commit
        if len(data) > room:
            fitted = wire.fit_data({"ts": ts, **body}, room, len(data))
            if fitted is None:
                raise RecordRefused(f"record of {len(data)} bytes exceeds max_record_bytes")
            data = wire.dumps(fitted)
            self.truncated += 1
        return data

    def _make_room(self, size: int, droppable: bool) -> None:
        """Refuse what no bound can take; drop the oldest telemetry from memory if needed."""
        fixed_rows = self._table.fixed_rows + self._pending_fixed[0]
        fixed_bytes = self._table.fixed_bytes + self._pending_fixed[1]
        if not droppable and (
            fixed_rows + 1 > self._max_records or fixed_bytes + size > self._max_bytes
        ):
            raise RecordRefused("outbox full of records that are never dropped", invalid=False)
        while self._pending_bytes + size > self._max_memory_bytes:
            if not self._pending_droppable:
                raise RecordRefused(
                    "outbox memory bound reached while the disk fails", invalid=False
                )
            oldest = self._pending_droppable.popleft()
            if oldest.gone:
                continue
            self._forget_pending(oldest)
            self._counters["dropped"] += 1
            _settle(oldest.future, None)

    def _forget_pending(self, p: _Pending) -> None:
        if p.gone:
            return
        p.gone = True
        self._pending_live -= 1
        self._pending_bytes -= len(p.body)
        if not p.droppable:
            self._pending_fixed[0] -= 1
            self._pending_fixed[1] -= len(p.body)

    def _forget_committed(self, pending: list[_Pending]) -> None:
        """`_forget_pending` for every record of a commit, in one pass (two rows a message)."""
        live = size = fixed_rows = fixed_size = 0
        for p in pending:
            if not p.gone:
                p.gone = True
                live += 1
                size += len(p.body)
                if not p.droppable:
                    fixed_rows += 1
                    fixed_size += len(p.body)
        self._pending_live -= live
        self._pending_bytes -= size
        self._pending_fixed[0] -= fixed_rows
        self._pending_fixed[1] -= fixed_size

    def _refuse(self, future: asyncio.Future[None], topic: str, exc: RecordRefused) -> None:
        self.refused += 1
        key = (topic, str(exc)[:40])
        if key not in self._logged_topics and len(self._logged_topics) < _LOGGED_TOPICS_CAP:
            self._logged_topics.add(key)  # once per topic and reason: a flood does not flood logs
            log.error("outbox_record_refused", topic=topic[:200], reason=str(exc))
        _settle(future, exc)

    # -- consumer (the MQTT publisher) -----------------------------------------------------

    async def fetch(self, after_seq: int, limit: int) -> list[OutboxRow]:
        """Committed rows with seq > after_seq, oldest first; waits while there are none."""
        while True:
            recent = self._recent
            while recent and recent[0].seq <= after_seq:
                recent.popleft()
            if recent and recent[0].seq == after_seq + 1:
                return list(islice(recent, limit))
            if recent or self._table.rows > len(self._acked_in_table):
                # (Rows in the table that are all acknowledged, their DELETE not committed
                # yet, are not read back: nothing there to hand out.)
                durable = self.last_seq
                rows = await self._thread.run(self._db.select, after_seq, durable, limit)
                gone = self._acked_in_table | {d.row.seq for d in self._dead}
                rows = [r for r in rows if r.seq not in gone]
                if rows:
                    return rows
                if self.last_seq != durable:
                    continue  # synced while reading: look again, the news came before the wait
            self._committed.clear()
            await self._committed.wait()

    def ack(self, seqs: Iterable[int]) -> None:
        """The broker has these rows; delete them in the next write transaction."""
        in_table = self._acked_in_table
        acked = [s for s in seqs if s not in in_table]
        self._acks.extend(acked)
        in_table.update(acked)
        self._forget_recent(acked, self._note_acked_size)
        if self.depth <= 0:
            self._empty.set()
        self._wake.set()

    def dead_letter(self, row: OutboxRow, reason: str) -> None:
        """Move a row the broker will never take to the dead-letter table (logged once)."""
        if row.seq in self._acked_in_table:
            return
        log.error(
            "outbox_dead_letter",
            topic=row.topic[:200],
            seq=row.seq,
            bytes=len(row.payload),
            reason=reason,
        )
        self._dead.append(DeadLetter(row, reason))
        self._acked_in_table.add(row.seq)
        self._forget_recent([row.seq])
        if self.depth <= 0:
            self._empty.set()
        self._wake.set()

    def _note_acked_size(self, row: OutboxRow) -> None:
        """Payload bytes of an acknowledged row still in the table (its DELETE waits for the
        next commit), so `bytes` counts only what the broker does not have yet."""
        size = self._acked_sizes[row.seq] = len(row.payload)
        self._acked_bytes += size

    def _forget_recent(
        self, acked: list[int], note: Callable[[OutboxRow], None] | None = None
    ) -> None:
        """Take these rows out of the ones kept in memory, each told to `note` if given.

        Rows are acknowledged in order, so they are the oldest kept: taken from the front,
        without a walk over everything kept behind them (a backlog after an outage)."""
        recent = self._recent
        if not acked or not recent:
            return
        gone = set(acked)
        while recent and recent[0].seq in gone:
            row = recent.popleft()
            if note is not None:
                note(row)
        if recent and max(gone) >= recent[0].seq:  # acknowledged out of order: rare
            kept: deque[OutboxRow] = deque()
            for row in recent:
                if row.seq not in gone:
                    kept.append(row)
                elif note is not None:
                    note(row)
            self._recent = kept

    @property
    def depth(self) -> int:
        """Rows waiting for the broker (committed or about to be)."""
        return self._table.rows - len(self._acked_in_table) + self._pending_live

    @property
    def bytes(self) -> int:
        """Payload bytes waiting (in the table and in memory)."""
        return self._table.bytes - self._acked_bytes + self._pending_bytes

    @property
    def dropped(self) -> int:
        return self._counters["dropped"]

    @property
    def dead_letters(self) -> int:
        return self._counters["dead_letters"]

    @property
    def last_seq(self) -> int:
        """The last seq committed and synced (durable)."""
        return self._next_seq - 1

    def failing_for_s(self) -> float:
        """How long commits have been failing (0 when they succeed)."""
        return 0.0 if self.failing_since is None else time.monotonic() - self.failing_since

    async def wait_empty(self) -> None:
        """Wait until the broker has acknowledged every row."""
        if self.depth > 0:
            self._empty.clear()
            await self._empty.wait()

    async def flushed(self) -> None:
        """Wait until everything put so far is committed (or withdrawn)."""
        futures = [p.future for p in (*self._inflight, *self._pending) if not p.future.done()]
        if futures:
            await asyncio.wait(futures)

    # -- the writer ------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        delays = backoff_delays(0.05, 5.0)
        while True:
            await self._wake.wait()
            if self._sync_due:  # the last commit's; nothing more is committed before it worked
                if not await self._sync():
                    if self._closing:
                        self._give_up_unsynced()
                        return
                    await self._pause(next(delays))
                    self._wake.set()
                    continue
                delays = backoff_delays(0.05, 5.0)
            await self._gather_window(loop)
            self._wake.clear()
            self._rows_put.clear()
            self._last_commit_s = loop.time()
            pending = [p for p in self._pending if not p.gone]
            if len(pending) > _COMMIT_ROWS:
                pending, rest = pending[:_COMMIT_ROWS], pending[_COMMIT_ROWS:]
                self._wake.set()
            else:
                rest = []
            acks, dead = self._acks, self._dead
            self._pending, self._acks, self._dead = rest, [], []
            self._inflight = pending
            # Records in flight are not dropped from memory.
            self._pending_droppable = deque(p for p in rest if p.droppable)
            if pending or acks or dead:
                first = self._next_seq
                rows = [
                    OutboxRow(
                        first + i, p.topic, wire.stamp(first + i, p.body), p.retain, p.droppable
                    )
                    for i, p in enumerate(pending)
                ]
                try:
                    outcome = self._db.commit(
                        rows,
                        acks,
                        dead,
                        self._table,
                        (self._max_records, self._max_bytes),
                        dict(self._counters),
                    )
                except (sqlite3.Error, OSError) as exc:
                    self._inflight = []
                    self._pending = pending + self._pending
                    self._pending_droppable = deque(p for p in self._pending if p.droppable)
                    self._acks, self._dead = acks + self._acks, dead + self._dead
                    if self._closing:
                        self._give_up(exc)
                        return
                    self._commit_failed(exc)
                    await self._pause(next(delays))
                    self._wake.set()
                    continue
                self.commits += 1
                self._note_commit(pending, acks, dead, outcome)
                self._unsynced, self._unsynced_in_table = rows, not outcome.dropped
                self._sync_due = True
                self._wake.set()  # synced at the top of the loop
                continue
            if self._closing and not self._pending and not self._acks and not self._dead:
                return

    async def _sync(self) -> bool:
        """Wait for the last commit to reach the disk; then it is durable and handed out.
        False when the sync failed (the rows stay in `_unsynced`)."""
        try:
            await self._thread.run(self._db.sync)
        except (sqlite3.Error, OSError) as exc:
            self._commit_failed(exc, "outbox_sync_failed")
            return False
        if self.failing is not None:
            log.warning("outbox_recovered", failed_for_s=round(self.failing_for_s(), 1))
            self.failing = self.failing_since = None
        rows, pending = self._unsynced, self._inflight
        self._unsynced, self._inflight, self._sync_due = [], [], False
        self._synced(pending, rows, self._unsynced_in_table)
        return True

    async def _gather_window(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let more work join this commit: the rest of the window after the last commit, and
        for deletions alone, until a record comes (or `_ACK_DELAY_S` passes)."""
        if self._closing:
            return
        rest = self._last_commit_s + self._commit_window_s - loop.time()
        if rest > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(rest):
                    await self._close_requested.wait()
        if not self._pending and not self._closing:
            self._rows_put.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_ACK_DELAY_S):
                    await self._rows_put.wait()

    def _note_commit(
        self,
        pending: list[_Pending],
        acks: list[int],
        dead: list[DeadLetter],
        outcome: CommitOutcome,
    ) -> None:
        """What the table holds now (its rows are not durable before `_synced`)."""
        self._forget_committed(pending)
        self._table = outcome.stats
        self._counters["dropped"] += outcome.dropped
        self._counters["dead_letters"] += len(dead)
        self._acked_in_table.difference_update(acks)
        if acks:
            sizes = self._acked_sizes
            self._acked_bytes -= sum([sizes.pop(seq, 0) for seq in acks])
        self._acked_in_table.difference_update(d.row.seq for d in dead)
        if outcome.dropped:
            self._recent.clear()  # the table lost rows that may still be in memory

    def _synced(self, pending: list[_Pending], rows: list[OutboxRow], kept: bool) -> None:
        """The rows are on disk: hand them out (`kept`: all of them are still in the table),
        tell their producers."""
        self._next_seq += len(rows)
        if rows and kept:
            self._recent.extend(rows)
            while len(self._recent) > _RECENT_CAP:
                self._recent.popleft()
        for p in pending:
            if not p.future.done():
                p.future.set_result(None)
        self._committed.set()
        if self.depth <= 0:
            self._empty.set()

    def _commit_failed(self, exc: BaseException, event: str = "outbox_commit_failed") -> None:
        self.commit_failures += 1
        if self.failing is None:
            self.failing_since = time.monotonic()
            log.error(
                event,
                path=str(self.path),
                error=str(exc),
                waiting=len(self._pending) + len(self._unsynced),
            )
        self.failing = f"{type(exc).__name__}: {exc}"
        self._withdraw_expired()

    def _withdraw_expired(self) -> None:
        """Records never dropped that waited past their deadline: their producers retry."""
        now = time.monotonic()
        error = OutboxUnavailable(f"outbox cannot store records: {self.failing}")
        for p in self._inflight if self._sync_due else ():
            if not p.droppable and p.deadline <= now and not p.future.done():
                # In the table already: delivered once a sync works, but its producer is
                # not kept waiting for that (it retries: a double, never a loss).
                _settle(p.future, error)
        expired = [p for p in self._pending if not p.gone and not p.droppable and p.deadline <= now]
        if not expired:
            return
        for p in expired:
            self._forget_pending(p)
        self._pending = [p for p in self._pending if not p.gone]
        self.withdrawn += len(expired)
        log.warning("outbox_records_withdrawn", count=len(expired), reason=self.failing)
        for p in expired:
            _settle(p.future, error)

    async def _pause(self, delay: float) -> None:
        """Wait before the next try, waking early for a deadline or a close."""
        now = time.monotonic()
        deadlines = [p.deadline for p in self._pending if not p.droppable and not p.gone]
        if self._sync_due:  # (committed records are no longer in memory's accounts: `gone`)
            deadlines += [
                p.deadline for p in self._inflight if not p.droppable and not p.future.done()
            ]
        if deadlines:
            delay = max(0.01, min(delay, min(deadlines) - now))
        try:
            async with asyncio.timeout(delay):
                while not self._closing:
                    self._wake.clear()
                    await self._wake.wait()
        except TimeoutError:
            pass
        self._withdraw_expired()

    def _give_up_unsynced(self) -> None:
        """Closing while the last commit is not known to be on disk: it stays in the table
        (read back at the next start if it reached the disk); what waits in memory is lost."""
        log.error(
            "outbox_close_unsynced",
            path=str(self.path),
            error=self.failing,
            unsynced=len(self._unsynced),
            lost=sum(1 for p in self._pending if not p.gone),
        )
        error = OutboxUnavailable(f"outbox closed while failing: {self.failing}")
        for p in self._inflight:
            _settle(p.future, error)
        self._inflight, self._unsynced, self._sync_due = [], [], False
        self._let_go_of_pending(error)

    def _give_up(self, exc: BaseException) -> None:
        lost = sum(1 for p in self._pending if not p.gone)
        log.error("outbox_close_lost_records", path=str(self.path), error=str(exc), lost=lost)
        self._let_go_of_pending(OutboxUnavailable(f"outbox closed while failing: {exc}"))

    def _let_go_of_pending(self, error: OutboxUnavailable) -> None:
        """Closing while the disk fails: what waits in memory is lost, its producers told."""
        for p in self._pending:
            _settle(p.future, error)
        self._pending = []
        self._pending_bytes = self._pending_live = 0
        self._pending_fixed = [0, 0]
        self._pending_droppable.clear()


def _stamped_dumps(ts: str, body: dict[str, Any]) -> bytes | None:
    """`{"ts": ts, **body}` as `wire.dumps` writes it, without copying the body; None when
    the body is not strict JSON (the caller serialises the whole record for the error)."""
    try:
        data = wire.dumps(body)
    except (ValueError, TypeError, RecursionError):
        return None
    if data == b"{}":
        return b'{"ts":"%s"}' % ts.encode()
    return b'{"ts":"%s",%s' % (ts.encode(), data[1:])


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    """Resolve a producer's future; an error nobody awaits is not reported as unretrieved."""
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
        future.exception()  # mark retrieved: telemetry producers do not await their futures
