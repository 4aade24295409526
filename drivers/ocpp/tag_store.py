"""The site's id tags and the Central tokens the gateway issued: `state_dir/tags.sqlite`.

Tags added with `P/site/cmd/tags` are effective at once (decisions read the in-memory copy)
and survive restarts (written, `synchronous=FULL`, before the command is answered). The list
version counts every change, so chargers' local lists (SendLocalList) can follow it. Central
tokens (2.x remote starts) are remembered for a week: long enough for any session they start.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from drivers.ocpp.core.authorize import SiteTag, fold

__all__ = ["TagStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
    tag_key TEXT PRIMARY KEY, id_tag TEXT NOT NULL, expires_at REAL, group_id TEXT
);
CREATE TABLE IF NOT EXISTS issued (token_key TEXT PRIMARY KEY, issued_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_KEEP_ISSUED_S = 7 * 86_400


class TagStore:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self.tags: dict[str, SiteTag] = {}
        self._issued: dict[str, float] = {}
        self.version = 0
        """Changes so far (the local list version the chargers get)."""

    async def open(self, now_s: float) -> None:
        def load() -> None:
            db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            db.execute("DELETE FROM issued WHERE issued_at < ?", (now_s - _KEEP_ISSUED_S,))
            for key, id_tag, expires, group in db.execute("SELECT * FROM tags"):
                self.tags[key] = SiteTag(id_tag, expires, group)
            self._issued = dict(db.execute("SELECT token_key, issued_at FROM issued"))
            row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            self.version = int(row[0]) if row else 0
            self._db = db

        await asyncio.to_thread(load)

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.to_thread(db.close)

    def issued(self, token_key: str) -> bool:
        return token_key in self._issued

    async def remember_issued(self, token: str, now_s: float) -> None:
        key = fold(token)
        self._issued[key] = now_s
        db = self._require()
        await asyncio.to_thread(
            db.execute, "INSERT OR REPLACE INTO issued VALUES (?, ?)", (key, now_s)
        )

    async def change(self, add: Iterable[SiteTag], remove: Iterable[str]) -> tuple[int, list[str]]:
        """Apply one `tags` command: (tags added or updated, removals of unknown tags)."""
        added = [(fold(t.id_tag), t.id_tag, t.expires_at, t.group) for t in add]
        gone = [fold(tag) for tag in remove]
        unknown = [tag for tag, key in zip(remove, gone, strict=True) if key not in self.tags]
        async with self._lock:
            await self._write_many(added, gone)
            for key, id_tag, expires, group in added:
                self.tags[key] = SiteTag(id_tag, expires, group)
            for key in gone:
                self.tags.pop(key, None)
            self.version += 1
        return len(added), unknown

    async def _write_many(
        self, added: list[tuple[str, str, float | None, str | None]], gone: list[str]
    ) -> None:
        db = self._require()
        version = self.version + 1

        def write() -> None:
            with db:
                db.execute("BEGIN")
                db.executemany("INSERT OR REPLACE INTO tags VALUES (?, ?, ?, ?)", added)
                db.executemany("DELETE FROM tags WHERE tag_key = ?", [(k,) for k in gone])
                db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (version,))

        await asyncio.to_thread(write)

    def _require(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("tag store is not open")
        return self._db
