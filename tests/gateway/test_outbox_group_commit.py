"""Group commit: records arriving one by one share a transaction, and still nobody hears
"durable" before the row is on disk."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from gateway.outbox import Outbox


def numbers_on_disk(path: Path) -> set[int]:
    """The `i` of every record another process would find in the table right now."""
    db = sqlite3.connect(path)
    try:
        return {json.loads(payload)["i"] for (payload,) in db.execute("SELECT payload FROM outbox")}
    finally:
        db.close()


def seqs_on_disk(path: Path) -> set[int]:
    """What another process would find in the table right now."""
    db = sqlite3.connect(path)
    try:
        return {seq for (seq,) in db.execute("SELECT seq FROM outbox")}
    finally:
        db.close()


async def opened(path: Path, *, window_s: float) -> Outbox:
    outbox = Outbox(path, synchronous="full", commit_window_s=window_s)
    await outbox.open()
    return outbox


async def test_records_put_one_by_one_share_commits_and_resolve_only_once_on_disk(
    tmp_path: Path,
) -> None:
    path = tmp_path / "o.sqlite"
    outbox = await opened(path, window_s=1.0)
    seen_on_disk: list[bool] = []
    futures = []
    for i in range(100):
        future = outbox.put("cp/transaction", {"i": i}, droppable=False)
        future.add_done_callback(lambda _, i=i: seen_on_disk.append(i in numbers_on_disk(path)))
        futures.append(future)
        await asyncio.sleep(0)  # one at a time, as chargers' messages arrive
    await asyncio.wait_for(asyncio.gather(*futures), 30)
    assert seen_on_disk == [True] * 100  # every "durable" was true when it was said
    assert outbox.commits <= 3  # not one fsync per record
    await outbox.close()


async def test_a_record_after_a_quiet_spell_is_not_held_back(tmp_path: Path) -> None:
    """The window only spaces commits under load: a lone record commits at once, and close
    commits what waits without sitting out the window."""
    path = tmp_path / "o.sqlite"
    outbox = await opened(path, window_s=600.0)
    await asyncio.wait_for(outbox.put("cp/transaction", {"n": 1}), 30)  # not 600 s
    pending = outbox.put("cp/transaction", {"n": 2})  # inside the window: waits for it
    await asyncio.sleep(0.05)
    assert not pending.done()
    await asyncio.wait_for(outbox.close(), 30)
    assert pending.done() and pending.exception() is None
    assert seqs_on_disk(path) == {1, 2}


async def test_acknowledged_rows_are_deleted_with_the_next_commit_or_on_close(
    tmp_path: Path,
) -> None:
    path = tmp_path / "o.sqlite"
    outbox = await opened(path, window_s=0.0)
    for i in range(3):
        await outbox.put("t", {"i": i})
    rows = await outbox.fetch(0, 10)
    outbox.ack([r.seq for r in rows[:2]])
    assert outbox.depth == 1
    assert outbox.bytes == len(rows[2].payload)  # the two acknowledged rows are not counted
    assert [r.seq for r in await outbox.fetch(0, 10)] == [3]  # never handed out again
    await outbox.put("t", {"i": 3})  # the deletes ride along with this insert
    assert seqs_on_disk(path) == {3, 4}
    outbox.ack([3])
    await outbox.close()
    assert seqs_on_disk(path) == {4}


async def test_transaction_answers_wait_for_the_group_commit(tmp_path: Path) -> None:
    """Under steady meter traffic (commits spaced by the window), a StartTransaction and a
    2.x TransactionEvent(Started) are answered only once their record and their
    transaction row are on disk."""
    from tests.drivers.ocpp.conftest import ocpp_config, running_driver
    from tests.drivers.ocpp.peers import charger

    ts = "2026-01-01T00:00:00Z"
    config = ocpp_config(tmp_path, allow_unknown_chargers=True, authorize={"accept_all": True})
    outbox_path = config.state_dir / "outbox.sqlite"

    def on_disk(table: str, where: str) -> int:
        name = "outbox.sqlite" if table == "outbox" else "transactions.sqlite"
        db = sqlite3.connect(config.state_dir / name)
        try:
            query = f"SELECT count(*) FROM {table} WHERE {where}"
            return int(db.execute(query).fetchone()[0])
        finally:
            db.close()

    async with running_driver(config) as site, charger(site.port, "CP-16", "1.6") as cp:
        await cp.boot()
        for i in range(5):  # steady traffic: the writer is inside its window now
            cp_meter = {"connectorId": 1, "meterValue": [
                {"timestamp": ts, "sampledValue": [{"value": str(i), "unit": "Wh"}]}]}  # fmt: skip
            await cp.raw("MeterValues", cp_meter)
        start = await cp.raw(
            "StartTransaction", {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": ts}
        )
        tx_id = str(start["transactionId"])
        assert on_disk("transactions", f"transaction_id = '{tx_id}'") == 1
        assert on_disk("outbox", 'CAST(payload AS TEXT) LIKE \'%"event":"started"%\'') == 1
        async with charger(site.port, "CP-201", "2.0.1") as cp2:
            await cp2.boot()
            await cp2.raw(
                "TransactionEvent",
                {"eventType": "Started", "timestamp": ts, "triggerReason": "Authorized",
                 "seqNo": 0, "transactionInfo": {"transactionId": "TX-9"},
                 "evse": {"id": 1, "connectorId": 1}},
            )  # fmt: skip
            assert on_disk("transactions", "transaction_id = 'TX-9'") == 1
            assert (
                on_disk("outbox", 'CAST(payload AS TEXT) LIKE \'%"transaction_id":"TX-9"%\'') >= 1
            )
    assert outbox_path.exists()
