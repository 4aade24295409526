"""The outbox's commits run on the event loop and its syncs beside it: a record is durable,
handed to the publisher and its producer told so only after the WAL's fdatasync; a failing
sync holds everything behind it, loses nothing and recovers by itself; the WAL is
checkpointed although SQLite's own automatic checkpoint is off."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

import gateway.outbox_db as outbox_db
from gateway.outbox import Outbox, OutboxUnavailable

FDATASYNC = os.fdatasync


async def open_outbox(path: Path, **kwargs: object) -> Outbox:
    outbox = Outbox(path, synchronous="full", **kwargs)  # type: ignore[arg-type]
    await outbox.open()
    return outbox


class HeldSync:
    """`os.fdatasync` as the outbox's database module calls it, held until released (or
    failing while `error` is set); records which files it synced."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.error: OSError | None = None
        self.synced: list[str] = []
        self.calls = 0

    def __call__(self, fd: int) -> None:
        self.calls += 1
        self.release.wait(10)
        if self.error is not None:
            raise self.error
        self.synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        FDATASYNC(fd)


async def until_failing(outbox: Outbox) -> None:
    async with asyncio.timeout(5):
        while outbox.failing is None:
            await asyncio.sleep(0.01)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> HeldSync:
    sync = HeldSync()
    monkeypatch.setattr(outbox_db.os, "fdatasync", sync)
    return sync


async def test_a_record_is_told_durable_and_handed_out_only_after_the_wal_is_synced(
    tmp_path: Path, held: HeldSync
) -> None:
    held.release.set()
    outbox = await open_outbox(tmp_path / "o.sqlite")  # the schema's commit is synced
    held.release.clear()
    future = outbox.put("s/tx", {"n": 1}, droppable=False)
    fetched = asyncio.create_task(outbox.fetch(0, 10))
    async with asyncio.timeout(5):
        while held.calls < 1:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    # Committed (the row is in the table) but the sync has not returned.
    assert not future.done()
    assert not fetched.done()
    assert outbox.last_seq == 0
    held.release.set()
    await asyncio.wait_for(future, 5)
    rows = await asyncio.wait_for(fetched, 5)
    assert [r.seq for r in rows] == [1]
    assert held.synced and all(p.endswith("o.sqlite-wal") for p in held.synced)
    await outbox.close()


async def test_a_failing_sync_holds_everything_behind_it_and_loses_nothing(
    tmp_path: Path, held: HeldSync
) -> None:
    held.release.set()
    outbox = await open_outbox(tmp_path / "o.sqlite", durable_timeout_s=0.3)
    held.error = OSError(5, "Input/output error")
    first = outbox.put("s/tx", {"n": 1}, droppable=False)
    telemetry = [outbox.put("s/tm", {"n": n}) for n in range(2, 6)]
    await until_failing(outbox)
    assert "Input/output error" in outbox.failing
    later = outbox.put("s/tx", {"n": 6}, droppable=False)
    # Nobody was told "durable"; the one never dropped gives up after its timeout (its
    # producer retries), the rest keep waiting.
    with pytest.raises(OutboxUnavailable):
        await asyncio.wait_for(first, 5)
    with pytest.raises(OutboxUnavailable):
        await asyncio.wait_for(later, 5)
    assert not any(f.done() for f in telemetry)
    assert outbox.last_seq == 0
    held.error = None  # the disk is back
    await asyncio.wait_for(asyncio.gather(*telemetry), 10)
    async with asyncio.timeout(5):
        while outbox.failing is not None:
            await asyncio.sleep(0.01)
    rows = await outbox.fetch(0, 100)
    # The first commit (n 1-5) is delivered: it was in the table all along. The later
    # record was withdrawn before any commit took it: never delivered, so never doubled.
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert [r.payload.count(b'"n":%d' % n) for n, r in enumerate(rows, 1)] == [1] * 5
    assert outbox.withdrawn == 1
    await outbox.close()


async def test_the_wal_is_checkpointed_and_does_not_grow_with_the_traffic(
    tmp_path: Path, held: HeldSync
) -> None:
    held.release.set()
    path = tmp_path / "o.sqlite"
    outbox = await open_outbox(path)
    wal = path.with_name("o.sqlite-wal")
    largest = 0
    after = 0
    for _ in range(60):
        for n in range(1000):
            outbox.put("s/tm", {"n": n, "pad": "x" * 100})
        await outbox.flushed()
        rows = await outbox.fetch(after, 2000)
        after = rows[-1].seq
        outbox.ack(r.seq for r in rows)
        largest = max(largest, wal.stat().st_size)
    assert after == 60_000
    # 60,000 rows of ~150 bytes written and deleted: ~30 MB of WAL frames unless it is
    # checkpointed and started over.
    assert largest < 8 * 1024 * 1024, largest
    await outbox.close()


async def test_closing_while_the_sync_fails_returns_and_keeps_the_committed_rows(
    tmp_path: Path, held: HeldSync
) -> None:
    held.release.set()
    path = tmp_path / "o.sqlite"
    outbox = await open_outbox(path)
    held.error = OSError(5, "Input/output error")
    committed = outbox.put("s/tx", {"n": 1}, droppable=False)
    await until_failing(outbox)
    waiting = outbox.put("s/tx", {"n": 2}, droppable=False)
    await asyncio.wait_for(outbox.close(), 10)
    for future in (committed, waiting):
        with pytest.raises(OutboxUnavailable):
            await future
    held.error = None
    outbox = await open_outbox(path)  # what the failing sync left in the table is still there
    rows = await outbox.fetch(0, 10)
    assert [(r.seq, b'"n":1' in r.payload) for r in rows] == [(1, True)]
    await outbox.close()
