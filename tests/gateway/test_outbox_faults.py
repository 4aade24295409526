"""The outbox under bad records, a full disk, tight bounds and a damaged file."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
from pathlib import Path

import pytest

from gateway.outbox import Outbox, OutboxDamaged, OutboxUnavailable, RecordRefused


async def open_outbox(path: Path, **kwargs: object) -> Outbox:
    outbox = Outbox(path, synchronous="normal", **kwargs)  # type: ignore[arg-type]
    await outbox.open()
    return outbox


async def on_writer(outbox: Outbox, sql: str) -> None:
    """Run one statement on the outbox's writing connection (PRAGMAs are per connection),
    on the event loop's thread where its commits run."""
    db = outbox._db._db
    assert db is not None
    db.execute(sql)


async def fill_disk(outbox: Outbox) -> None:
    """A real full disk: SQLite may not grow the file past its current size, and the free
    pages inside it are taken by a filler table, so the next page the outbox needs fails
    with SQLITE_FULL ("database or disk is full")."""
    db = outbox._db._db
    assert db is not None

    def fill() -> None:
        db.execute("CREATE TABLE IF NOT EXISTS test_filler (b BLOB)")
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")
        for size in (65536, 4096, 512, 64):
            try:
                while True:
                    db.execute("INSERT INTO test_filler VALUES (zeroblob(?))", (size,))
            except sqlite3.OperationalError:
                pass  # full at this size: try smaller rows, until no page is left

    fill()  # on the loop's thread, as the writer's commits


async def free_disk(outbox: Outbox) -> None:
    await on_writer(outbox, "PRAGMA max_page_count = 1073741823")


async def all_rows(outbox: Outbox) -> list[dict[str, object]]:
    return [json.loads(r.payload) for r in await outbox.fetch(0, 100_000)]


@pytest.mark.parametrize(
    "bad",
    [{"v": math.nan}, {"v": math.inf}, {"v": "\ud800"}, {"v": object()}, {"v": -math.inf}],
    ids=["nan", "inf", "lone-surrogate", "object", "-inf"],
)
async def test_a_record_that_is_not_strict_json_is_refused_and_takes_no_seq(
    tmp_path: Path, bad: dict[str, object]
) -> None:
    outbox = await open_outbox(tmp_path / "o.sqlite")
    await outbox.put("s/a", {"n": 1})
    refused = outbox.put("s/a", bad, droppable=False)
    with pytest.raises(RecordRefused, match="not strict JSON"):
        await refused
    await outbox.put("s/a", {"n": 2})
    rows = await all_rows(outbox)
    assert [r["seq"] for r in rows] == [1, 2]  # no gap where the refused record was
    assert [r["n"] for r in rows] == [1, 2]
    assert outbox.refused == 1
    await outbox.close()


async def test_a_topic_with_a_control_character_is_refused(tmp_path: Path) -> None:
    outbox = await open_outbox(tmp_path / "o.sqlite")
    with pytest.raises(RecordRefused, match="control character"):
        await outbox.put("s/charger/EVIL\x01/event", {"n": 1})
    await outbox.put("s/charger/ok/event", {"n": 2})
    assert [r["seq"] for r in await all_rows(outbox)] == [1]
    await outbox.close()


async def test_an_oversized_event_is_kept_with_its_data_cut_and_flagged(tmp_path: Path) -> None:
    outbox = await open_outbox(tmp_path / "o.sqlite", max_record_bytes=4096)
    big = {"vendor_id": "ACME", "message_id": "dump", "data": "x" * 100_000}
    await outbox.put("s/charger/cp/event", {"event": "data_transfer", "data": big}, droppable=False)
    (row,) = await outbox.fetch(0, 10)
    assert len(row.payload) <= 4096
    body = json.loads(row.payload)
    assert body["data_truncated"] is True
    assert body["data_bytes"] > 100_000
    assert body["data"]["vendor_id"] == "ACME" and body["data"]["message_id"] == "dump"
    assert len(body["data"]["data"]) < 1000
    assert outbox.truncated == 1
    # Without `data` to cut, an oversized record is refused, not mangled.
    with pytest.raises(RecordRefused, match="max_record_bytes"):
        await outbox.put("s/charger/cp/transaction", {"id_tag": "t" * 10_000}, droppable=False)
    await outbox.close()


async def test_byte_bound_drops_oldest_telemetry_and_refuses_what_is_never_dropped(
    tmp_path: Path,
) -> None:
    outbox = await open_outbox(tmp_path / "o.sqlite", max_bytes=20_000, max_record_bytes=2048)
    for i in range(100):  # ~1 KB each: 100 KB of telemetry into a 20 KB bound
        outbox.put("s/tm", {"i": i, "pad": "p" * 1000})
    await outbox.flushed()
    assert outbox.bytes <= 20_000
    assert outbox.dropped >= 80
    seqs = [r["seq"] for r in await all_rows(outbox)]
    assert seqs == sorted(seqs) and seqs[-1] == 100  # the newest stayed
    accepted = refused = 0
    for i in range(40):
        try:
            await outbox.put("s/tx", {"i": i, "pad": "p" * 1000}, droppable=False)
            accepted += 1
        except RecordRefused as exc:
            assert "never dropped" in str(exc)
            refused += 1
    assert accepted >= 15 and refused >= 1
    rows = await all_rows(outbox)
    assert sum(1 for r in rows if "pad" in r and r["seq"] > 100) == accepted  # none dropped
    await outbox.close()


async def test_a_full_disk_does_not_end_the_writer_and_consumes_no_seq(tmp_path: Path) -> None:
    outbox = await open_outbox(tmp_path / "o.sqlite", durable_timeout_s=0.5)
    await outbox.put("s/tx", {"n": 0}, droppable=False)
    await fill_disk(outbox)
    telemetry = [outbox.put("s/tm", {"n": i, "pad": "p" * 2000}) for i in range(1, 200)]
    transaction = outbox.put("s/tx", {"n": 200, "pad": "p" * 2000}, droppable=False)
    # The producer waiting for durability gets an error in bounded time, not a hang.
    with pytest.raises(OutboxUnavailable):
        await asyncio.wait_for(transaction, 10)
    assert outbox.failing is not None and "full" in outbox.failing
    assert outbox.last_seq == 1  # nothing uncommitted got a seq
    assert outbox.withdrawn == 1
    # Space comes back: the writer recovers by itself and commits what it kept, in order.
    await free_disk(outbox)
    await asyncio.wait_for(asyncio.gather(*telemetry), 20)
    assert outbox.failing is None
    await outbox.put("s/tx", {"n": 201}, droppable=False)
    rows = await all_rows(outbox)
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))  # no gap
    assert [r["n"] for r in rows] == [0, *range(1, 200), 201]  # the withdrawn one is not there
    await outbox.close()


async def test_memory_bound_while_the_disk_is_full(tmp_path: Path) -> None:
    outbox = await open_outbox(tmp_path / "o.sqlite", max_memory_bytes=50_000)
    await outbox.put("s/tm", {"n": 0})
    await fill_disk(outbox)
    for i in range(1, 500):
        outbox.put("s/tm", {"n": i, "pad": "p" * 500})
    assert outbox.bytes - 50_000 < 2 * 1024  # the table's one row plus at most the bound
    assert outbox.dropped > 400
    await free_disk(outbox)
    await asyncio.wait_for(outbox.flushed(), 20)
    rows = await all_rows(outbox)
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[-1]["n"] == 499  # the newest telemetry stayed
    await outbox.close()


async def test_close_while_the_disk_is_full_returns(tmp_path: Path) -> None:
    outbox = await open_outbox(tmp_path / "o.sqlite", durable_timeout_s=60)
    await fill_disk(outbox)
    waiting = outbox.put("s/tx", {"pad": "p" * 10_000}, droppable=False)
    await asyncio.wait_for(outbox.close(), 20)
    with pytest.raises(OutboxUnavailable):
        await waiting


async def test_dead_letters_leave_the_queue_and_are_counted_durably(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    outbox = await open_outbox(path)
    for i in range(3):
        await outbox.put("s/e", {"i": i}, droppable=False)
    first, second, _third = await outbox.fetch(0, 10)
    outbox.dead_letter(second, "packet larger than the broker's maximum")
    outbox.ack([first.seq])
    await outbox.put("s/e", {"i": 3}, droppable=False)
    assert [r.seq for r in await outbox.fetch(0, 10)] == [3, 4]
    assert outbox.dead_letters == 1
    await outbox.close()
    outbox = await open_outbox(path)
    assert outbox.dead_letters == 1 and outbox.depth == 2
    await outbox.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT seq, reason FROM dead_letter").fetchall() == [
            (2, "packet larger than the broker's maximum")
        ]


async def test_a_damaged_file_is_reported_by_name(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    path.write_bytes(b"\x00garbage after a power cut" * 400)
    outbox = Outbox(path)
    with pytest.raises(OutboxDamaged) as caught:
        await outbox.open()
    message = str(caught.value)
    assert str(path) in message and "set-aside-damaged-outbox" in message


async def test_a_record_with_nan_reaches_neither_the_queue_nor_the_twins(tmp_path: Path) -> None:
    from gateway.foundation.model import ChargerId, ChargerTelemetry, DeviceKind
    from gateway.recorder import OutboxRecorder as Recorder
    from gateway.topics import Topics

    outbox = await open_outbox(tmp_path / "o.sqlite")
    recorder = Recorder(outbox, Topics("p", "s"))
    seen: list[object] = []
    recorder.subscribe(seen.append)
    with pytest.raises(RecordRefused):
        await recorder.record(ChargerTelemetry(ChargerId("cp"), 1, power_w=math.nan))
    assert seen == [] and recorder.twins.get(DeviceKind.CHARGER, "cp") is None
    await recorder.record(ChargerTelemetry(ChargerId("cp"), 1, power_w=5.0))
    assert len(seen) == 1
    assert [r["seq"] for r in await all_rows(outbox)] == [1]
    await outbox.close()
