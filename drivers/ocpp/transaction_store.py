"""Durable transactions: `state_dir/transactions.sqlite` (transactions are money).

A transaction is written (and the write committed with `synchronous=FULL`) before the charger
gets its answer, so a gateway restart or a charger reconnect never loses a started session and
never hands out a 1.6 transaction id twice. All rows live in memory too: lookups on the hot
path (MeterValues) cost a dict access; only the last meter reading is written lazily (it is a
convenience for 2.x `Ended` events without a register value, not the billing basis).
Writes run on one database thread, in order.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import structlog

from drivers.ocpp.core.caps import SourceLimit
from drivers.ocpp.core.transactions import StoredTransaction
from drivers.ocpp.group_commit import GroupCommit
from drivers.ocpp.id_reserve import BLOCK, read_reserve, write_reserve
from drivers.ocpp.stored_rows import (
    Skipped,
    lenient_text,
    load_identities,
    load_limits,
    load_transactions,
)
from gateway.foundation.errors import StateFileDamaged

__all__ = [
    "StoredLimit",
    "StoredProfile",
    "StoredTransaction",
    "TransactionStore",
    "TransactionsDamaged",
    "first_transaction_id",
]

log = structlog.get_logger("drivers.ocpp.transactions")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    charger_id TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    evse INTEGER NOT NULL,
    id_tag TEXT,
    meter_start_wh REAL,
    meter_last_wh REAL,
    started_at REAL,
    stopped_at REAL,
    stop_reason TEXT,
    ended INTEGER NOT NULL DEFAULT 0,
    start_key TEXT,
    export_start_wh REAL,
    export_last_wh REAL,
    started_recorded INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (charger_id, transaction_id)
);
CREATE TABLE IF NOT EXISTS chargers (charger_id TEXT PRIMARY KEY, identity TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS limits (
    charger_id TEXT NOT NULL,
    evse INTEGER NOT NULL,
    power_w REAL,
    current_a REAL,
    expires_at REAL,
    PRIMARY KEY (charger_id, evse)
);
CREATE TABLE IF NOT EXISTS source_limits (
    charger_id TEXT NOT NULL,
    evse INTEGER NOT NULL,
    source TEXT NOT NULL,
    power_w REAL,
    current_a REAL,
    expires_at REAL,
    PRIMARY KEY (charger_id, evse, source)
);
CREATE TABLE IF NOT EXISTS charging_profiles (
    charger_id TEXT NOT NULL,
    evse INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (charger_id, evse, purpose)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_KEEP_ENDED_S = 7 * 86_400
_FLUSH_ROWS = 250
"""Transactions written per commit by `flush`."""
"""Ended transactions stay known this long: late StopTransaction retries and MeterValues."""


@dataclass(frozen=True, slots=True)
class StoredProfile:
    """An explicit charging profile a charger holds, one per (EVSE, purpose); `body` is its
    `state.limits` entry as JSON (limit_records.py)."""

    charger_id: str
    evse: int
    purpose: str
    body: str


StoredLimit = SourceLimit
"""A limit in force, per source (`limits` holds those stored before sources were kept apart:
they are the control centre's and move to `source_limits` at open)."""


_COLUMNS = [f.name for f in fields(StoredTransaction)]
_ID_EPOCH_S = 1_735_689_600  # 2025-01-01T00:00:00Z
_IDS_PER_S = 4
_DAMAGED = frozenset({sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT})


def first_transaction_id(now_s: float) -> int:
    """Where a new database starts counting 1.6 transaction ids: 4 per second since 2025.

    A database set aside after damage took its counter with it; starting the new one here
    never hands out an id twice unless the old one averaged more than 4 transactions per
    second over its life. 2**31 (the int32 many chargers keep) is reached in 2042.
    """
    return max(1, int((now_s - _ID_EPOCH_S) * _IDS_PER_S))


class TransactionsDamaged(StateFileDamaged):
    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(
            path,
            f"transactions database {path} is damaged ({detail}). Move it aside and start "
            f"with a new one: 'pilebridge run --set-aside-damaged-transactions -c CONFIG' "
            f"(keeps it as {path.name}.damaged-<time>; new 1.6 transaction ids continue above "
            f"every id handed out before), see docs/reliability.md",
        )


class TransactionStore:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._closing = False
        """Set when close() begins: writes asked for after it are not queued behind the close."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocpp-tx-db")
        self._by_id: dict[tuple[str, str], StoredTransaction] = {}
        self._open: dict[str, dict[str, StoredTransaction]] = {}
        """charger -> transaction id -> transaction not ended when last indexed."""
        self._by_start_key: dict[tuple[str, str], StoredTransaction] = {}
        self._identities: dict[str, str] = {}
        self._next_id = 1
        self._reserve_path = path.with_name(path.stem + ".ids")
        self._reserved = 0
        """Ids below this are on record in `_reserve_path` (id_reserve.py)."""
        self._commits: GroupCommit[tuple[Any, ...]] = GroupCommit(self._commit)
        """Transaction rows saved together share a commit (a reconnect storm's starts)."""
        self._dirty: set[tuple[str, str]] = set()
        self._flag_writes: set[asyncio.Task[None]] = set()
        """Writes of `started_recorded` under way (close waits for them)."""
        self.stored_limits: list[StoredLimit] = []
        self.stored_profiles: list[StoredProfile] = []
        """Explicit charging profiles held when the gateway last stopped (read at open)."""
        """Limits in force when the gateway last stopped (read at open)."""

    async def open(self) -> None:
        """Load every row that reads; TransactionsDamaged when the file is no database."""
        loop = asyncio.get_running_loop()
        try:
            rows, identities, limits, next_id = await loop.run_in_executor(
                self._executor, self._open_sync
            )
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) not in _DAMAGED:
                raise
            if self._db is not None:
                self._db.close()
                self._db = None
            raise TransactionsDamaged(self._path, str(exc)) from None
        transactions, skipped = load_transactions(rows)
        self._identities, skipped_ids = load_identities(identities)
        self.stored_limits, skipped_limits = load_limits(limits)
        self.stored_profiles = await loop.run_in_executor(self._executor, self._profiles_sync)
        for skip in (*skipped, *skipped_ids, *skipped_limits):
            _log_skipped(self._path, skip)
        for tx in transactions:
            self._index(tx)
        numeric = [int(t.transaction_id) for t in transactions if t.transaction_id.isdigit()]
        self._next_id = max([next_id, *(n + 1 for n in numeric if n < 2**53)])

    def _open_sync(self) -> tuple[list[Any], list[Any], list[Any], int]:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        self._db = db  # closed by open() if the file turns out to be damaged
        db.text_factory = bytes  # rows are decoded one by one (stored_rows.py)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        known = {
            row[1].decode() if isinstance(row[1], bytes) else row[1]
            for row in db.execute("PRAGMA table_info(transactions)")
        }
        for column in ("export_start_wh", "export_last_wh"):  # added with V2G accounting
            if column not in known:
                db.execute(f"ALTER TABLE transactions ADD COLUMN {column} REAL")
        if "started_recorded" not in known:  # rows from before: their records were taken
            db.execute(
                "ALTER TABLE transactions ADD COLUMN started_recorded INTEGER NOT NULL DEFAULT 1"
            )
        cutoff = time.time() - _KEEP_ENDED_S
        db.execute("DELETE FROM transactions WHERE ended = 1 AND stopped_at < ?", (cutoff,))
        rows = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM transactions").fetchall()
        identities = db.execute("SELECT charger_id, identity FROM chargers").fetchall()
        with db:
            db.execute("BEGIN")
            db.execute(
                "INSERT OR IGNORE INTO source_limits SELECT charger_id, evse, 'command', power_w,"
                " current_a, expires_at FROM limits"
            )
            db.execute("DELETE FROM limits")
        limits = db.execute(
            "SELECT charger_id, evse, power_w, current_a, expires_at, source FROM source_limits"
        ).fetchall()
        meta = db.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
        db.text_factory = str
        stored = meta[0] if meta else None
        self._reserved = read_reserve(self._reserve_path)
        if isinstance(stored, int) and stored > 0:
            return rows, identities, limits, stored
        # A new database (or one whose counter is lost): above every id ever reserved.
        return rows, identities, limits, max(first_transaction_id(time.time()), self._reserved)

    async def close(self) -> None:
        if self._db is not None:
            if self._flag_writes:
                await asyncio.wait(self._flag_writes)
            await self.flush()
            self._closing = True
            await self._commits.settled()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._db.close)
            self._db = None
        self._executor.shutdown(wait=True)

    def _index(self, tx: StoredTransaction) -> None:
        self._by_id[(tx.charger_id, tx.transaction_id)] = tx
        if tx.start_key is not None:
            self._by_start_key[(tx.charger_id, tx.start_key)] = tx
        open_here = self._open.setdefault(tx.charger_id, {})
        if tx.ended:
            open_here.pop(tx.transaction_id, None)
        else:
            open_here[tx.transaction_id] = tx

    # -- lookups (in memory, hot path) --------------------------------------------------

    def get(self, charger_id: str, transaction_id: str) -> StoredTransaction | None:
        return self._by_id.get((charger_id, transaction_id))

    def by_start_key(self, charger_id: str, start_key: str) -> StoredTransaction | None:
        return self._by_start_key.get((charger_id, start_key))

    def open_for(self, charger_id: str) -> list[StoredTransaction]:
        # By charger, not a scan of every transaction: the site controller asks this for
        # every charger on every tick (quadratic at thousands of chargers).
        return [tx for tx in self._open.get(charger_id, {}).values() if not tx.ended]

    def open_on(self, charger_id: str, evse: int) -> StoredTransaction | None:
        for tx in self.open_for(charger_id):
            if tx.evse == evse:
                return tx
        return None

    def allocate_id(self) -> str:
        """A new 1.6 transaction id (integer, never reused: the counter is saved with the row)."""
        value = self._next_id
        self._next_id += 1
        return str(value)

    def identity(self, charger_id: str) -> str | None:
        """The charger's last BootNotification identity as JSON (state after a restart)."""
        return self._identities.get(charger_id)

    # -- writes -----------------------------------------------------------------------

    async def save(self, tx: StoredTransaction) -> None:
        """Insert or update `tx`; returns when the row is committed to disk."""
        self._index(tx)
        self._dirty.discard((tx.charger_id, tx.transaction_id))
        await self._commits.add([tuple(getattr(tx, name) for name in _COLUMNS)])

    def note_started_recorded(self, tx: StoredTransaction) -> None:
        """`tx`'s `started` record is durable: written at once (one commit per transaction
        start), so only a crash in those milliseconds makes a restart record it again."""
        if tx.started_recorded:
            return
        tx.started_recorded = True
        if self._closing or self._db is None:
            self._dirty.add((tx.charger_id, tx.transaction_id))  # close() flushes it
            return
        task = asyncio.create_task(self._write_flag(tx), name="ocpp-started-recorded")
        self._flag_writes.add(task)
        task.add_done_callback(self._flag_writes.discard)

    async def _write_flag(self, tx: StoredTransaction) -> None:
        try:
            await self.save(tx)
        except (sqlite3.Error, OSError) as exc:
            self._dirty.add((tx.charger_id, tx.transaction_id))  # the next flush tries again
            log.warning("transaction_flag_not_written", path=str(self._path), error=str(exc))

    def unrecorded_starts(self) -> list[StoredTransaction]:
        """Transactions saved whose `started` record was never confirmed durable."""
        return [tx for tx in self._by_id.values() if not tx.started_recorded]

    def note_meter(self, tx: StoredTransaction, meter_wh: float) -> None:
        """Remember the latest reading; written with the next save or flush."""
        tx.meter_last_wh = meter_wh
        self._dirty.add((tx.charger_id, tx.transaction_id))

    async def flush(self) -> None:
        """Write the latest readings, `_FLUSH_ROWS` rows per commit: at thousands of chargers
        one commit of every open transaction held the event loop while its rows were built,
        and every durable write (a command's limit, a transaction started) waited behind it."""
        if not self._dirty or self._db is None:
            return
        dirty = list(self._dirty)
        self._dirty.clear()
        for start in range(0, len(dirty), _FLUSH_ROWS):
            rows = []
            for key in dirty[start : start + _FLUSH_ROWS]:
                tx = self._by_id.get(key)
                if tx is not None:
                    rows.append(tuple(getattr(tx, name) for name in _COLUMNS))
            await self._commits.add(rows)

    async def _commit(self, rows: list[tuple[Any, ...]]) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._save_sync, rows, self._next_id)

    async def save_identity(self, charger_id: str, identity_json: str) -> None:
        if self._identities.get(charger_id) == identity_json or self._closing:
            return
        self._identities[charger_id] = identity_json
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._identity_sync, charger_id, identity_json)

    def _save_sync(self, rows: list[tuple[Any, ...]], next_id: int) -> None:
        assert self._db is not None
        if next_id > self._reserved:  # before the row: the id may reach the charger after it
            self._reserved = next_id + BLOCK
            write_reserve(self._reserve_path, self._reserved)
        placeholders = ", ".join("?" for _ in _COLUMNS)
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                f"INSERT OR REPLACE INTO transactions ({', '.join(_COLUMNS)}) "
                f"VALUES ({placeholders})",
                rows,
            )
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('next_id', ?)", (next_id,)
            )

    async def save_limit(
        self, charger_id: str, evse: int, limit: StoredLimit | None, source: str = "command"
    ) -> None:
        """Remember `source`'s limit on `evse` (None: it has none), so a restarted
        gateway still reports it and still withdraws it when its TTL runs out.

        After close (the gateway is stopping, MQTT going away lapses TTL leases) nothing is
        written: the stored limit is restored, with its TTL, by the next start.
        """
        if self._db is None or self._closing:
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            self._executor, self._limit_sync, charger_id, evse, limit, source
        )

    def _limit_sync(
        self, charger_id: str, evse: int, limit: StoredLimit | None, source: str
    ) -> None:
        assert self._db is not None
        with self._db:
            self._db.execute("BEGIN")
            if limit is None:
                self._db.execute(
                    "DELETE FROM source_limits WHERE charger_id = ? AND evse = ? AND source = ?",
                    (charger_id, evse, source),
                )
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO source_limits VALUES (?, ?, ?, ?, ?, ?)",
                    (charger_id, evse, source, limit.power_w, limit.current_a, limit.expires_at),
                )

    def _profiles_sync(self) -> list[StoredProfile]:
        assert self._db is not None
        self._db.text_factory = lenient_text  # a damaged body is skipped later, never fatal
        try:
            rows = self._db.execute(
                "SELECT charger_id, evse, purpose, body FROM charging_profiles"
            ).fetchall()
        finally:
            self._db.text_factory = str
        return [StoredProfile(*row) for row in rows]

    async def save_profile(
        self, charger_id: str, evse: int, purpose: str, body: str | None
    ) -> None:
        """Remember the explicit profile of `purpose` on `evse` (None: there is none); after
        close nothing is written (as for save_limit)."""
        if self._db is None or self._closing:
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            self._executor, self._profile_sync, charger_id, evse, purpose, body
        )

    def _profile_sync(self, charger_id: str, evse: int, purpose: str, body: str | None) -> None:
        assert self._db is not None
        with self._db:
            self._db.execute("BEGIN")
            if body is None:
                self._db.execute(
                    "DELETE FROM charging_profiles"
                    " WHERE charger_id = ? AND evse = ? AND purpose = ?",
                    (charger_id, evse, purpose),
                )
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO charging_profiles VALUES (?, ?, ?, ?)",
                    (charger_id, evse, purpose, body),
                )

    def _identity_sync(self, charger_id: str, identity_json: str) -> None:
        assert self._db is not None
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT OR REPLACE INTO chargers (charger_id, identity) VALUES (?, ?)",
                (charger_id, identity_json),
            )


def _log_skipped(path: Path, skip: Skipped) -> None:
    log.error(
        "stored_row_skipped",
        file=str(path),
        table=skip.table,
        key=skip.key,
        reason=skip.reason,
        detail="the row does not load; the gateway starts without it",
    )
