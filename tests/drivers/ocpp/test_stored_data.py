"""Stored data never stops a start (issue findings 1 and 12): rows that do not load are
logged and skipped, a damaged transactions.sqlite gives one line naming the file and the
fix, and a database set aside never makes the gateway hand out a 1.6 transaction id twice."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from drivers.ocpp.transaction_store import (
    TransactionsDamaged,
    TransactionStore,
    first_transaction_id,
)
from gateway.foundation.config import Config
from gateway.foundation.model import ChargerState, TransactionEvent
from gateway.outbox_db import set_aside
from tests.drivers.ocpp.conftest import running_driver
from tests.drivers.ocpp.hostile import assert_strict_json, raw_charger
from tests.gateway.test_daemon_process import start_daemon, write_config
from tests.gateway.test_outbox_daemon import start_daemon_with

START = '{"connectorId":%d,"idTag":"TAG-1","meterStart":100,"timestamp":"2024-05-01T10:00:00Z"}'


async def start_transactions(site_port: int, connectors: list[int]) -> list[int]:
    ids = []
    async with raw_charger(site_port, "CP-16") as cp:
        for connector in connectors:
            reply = await cp.call_text("StartTransaction", START % connector)
            assert reply[0] == 3, reply
            ids.append(reply[2]["transactionId"])
    return ids


async def test_rows_that_do_not_load_are_skipped(config_factory: Callable[..., Config]) -> None:
    config = config_factory()
    async with running_driver(config) as site:
        (good,) = await start_transactions(site.port, [1])
    db = sqlite3.connect(config.state_dir / "transactions.sqlite")
    with db:
        insert = "INSERT INTO transactions (charger_id, transaction_id, evse, id_tag, meter_start_wh, ended) VALUES (?, ?, ?, ?, ?, 0)"
        db.execute(insert, ("CP-16", "9001", "not a number", "T", 1.0))
        db.execute(insert, ("CP-16", "9002", 2, "T", 1e999))  # stored as Inf
        db.execute(  # the started flag neither 0 nor 1 but text: skipped, never re-recorded
            "INSERT INTO transactions (charger_id, transaction_id, evse, ended, started_recorded)"
            " VALUES ('CP-16', '9003', 3, 0, 'maybe')"
        )
        db.execute(
            insert, ("CP-201", "tx-\ud800".encode("utf-8", "surrogatepass"), 1, b"\xff\xfe", 5.0)
        )
        db.execute("INSERT INTO chargers VALUES ('CP-16', ?)", ('{"vendor": "A\\ud800"}',))
        db.execute("INSERT INTO chargers VALUES ('CP-201', 'not json at all')")
        db.execute("INSERT INTO source_limits VALUES ('CP-16', 1, 'lots', NULL, NULL, 'command')")
    db.close()
    async with running_driver(config) as site:
        store = site.driver.store
        assert [t.transaction_id for t in store.open_for("CP-16")] == [str(good)]
        assert [r.transaction_id for r in site.of(TransactionEvent)] == []
        (kept,) = store.open_for("CP-201")  # damaged text is made valid, the row is kept
        assert kept.transaction_id == "tx-\ufffd\ufffd\ufffd" and kept.id_tag == "\ufffd\ufffd"
        assert site.driver.hub.book("CP-16").vendor == "A\ufffd"
        assert site.of(ChargerState)
        assert assert_strict_json(site.records) >= 4


def test_a_damaged_file_names_itself_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "transactions.sqlite"
    path.write_bytes(b"power cut " * 500)

    async def open_it() -> None:
        store = TransactionStore(path)
        try:
            await store.open()
        finally:
            await store.close()

    try:
        asyncio.run(open_it())
    except TransactionsDamaged as exc:
        assert str(path) in str(exc) and "--set-aside-damaged-transactions" in str(exc)
        assert exc.__cause__ is None and exc.__suppress_context__
    else:
        raise AssertionError("a damaged file must not open")


async def test_ids_after_a_set_aside_never_repeat(config_factory: Callable[..., Config]) -> None:
    config = config_factory()
    async with running_driver(config) as site:
        before = await start_transactions(site.port, [1, 2])
    assert before[1] == before[0] + 1 and before[0] >= first_transaction_id(time.time() - 60)
    path = config.state_dir / "transactions.sqlite"
    for extra in ("-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)
    path.write_bytes(b"\x00" * 4096)
    set_aside(path)
    async with running_driver(config) as site:
        after = await start_transactions(site.port, [1])
    assert after[0] > max(before)


async def test_the_daemon_says_one_line_and_sets_aside_on_request(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    config = make_config(ocpp={"enabled": True, "host": "127.0.0.1", "port": 0})
    config.state_dir.mkdir(parents=True)
    damaged = config.state_dir / "transactions.sqlite"
    damaged.write_bytes(b"not a database, the tail of a power cut" * 200)
    path = write_config(config, tmp_path / "pb.yaml")

    proc = await start_daemon(path)
    _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    text = stderr.decode()
    assert proc.returncode == 4 and "Traceback" not in text, text
    lines = [line for line in text.splitlines() if "cannot start" in line]
    assert len(lines) == 1 and str(damaged) in lines[0], text
    assert "--set-aside-damaged-transactions" in lines[0]

    proc = await start_daemon_with(path, "--set-aside-damaged-transactions")
    assert proc.stderr is not None
    async with asyncio.timeout(60):
        while b"gateway_started" not in (await proc.stderr.readline()):
            pass
    proc.send_signal(signal.SIGTERM)
    await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    kept = list(config.state_dir.glob("transactions.sqlite.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"not a database")


async def test_a_database_from_before_v2g_accounting_gains_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "transactions.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE transactions (charger_id TEXT NOT NULL, transaction_id TEXT NOT NULL,"
        " evse INTEGER NOT NULL, id_tag TEXT, meter_start_wh REAL, meter_last_wh REAL,"
        " started_at REAL, stopped_at REAL, stop_reason TEXT, ended INTEGER NOT NULL DEFAULT 0,"
        " start_key TEXT, PRIMARY KEY (charger_id, transaction_id));"
        "INSERT INTO transactions VALUES ('CP', '7', 1, 'TAG', 100, 150, 1.0, NULL, NULL, 0, NULL);"
    )
    db.commit()
    db.close()
    store = TransactionStore(path)
    await store.open()
    tx = store.get("CP", "7")
    assert tx is not None and tx.meter_last_wh == 150 and tx.export_start_wh is None
    tx.export_start_wh, tx.export_last_wh = 10.0, 30.0
    await store.save(tx)
    await store.close()
    again = TransactionStore(path)
    await again.open()
    reloaded = again.get("CP", "7")
    assert reloaded is not None and (reloaded.export_start_wh, reloaded.export_last_wh) == (10, 30)
    await again.close()
