"""A crash between a start's two writes (the transaction row, the `started` record) never
loses the `started`: the row says whether the outbox confirmed it, that flag is written as
soon as it did, and a restart that finds it unconfirmed records `started` before serving."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any, cast

import pytest

from drivers.ocpp.session import ChargerSession
from drivers.ocpp.session_v2 import Session2
from drivers.ocpp.session_v16 import Session16
from gateway.foundation.model import TransactionEvent
from tests.drivers.ocpp.conftest import ocpp_config, running_driver

TS = "2026-03-01T08:00:00Z"


def flags(state_dir: Path) -> dict[str, int]:
    db = sqlite3.connect(state_dir / "transactions.sqlite")
    try:
        rows = db.execute("SELECT transaction_id, started_recorded FROM transactions").fetchall()
    finally:
        db.close()
    return {tx: flag for tx, flag in rows}


async def start(version: str, session: ChargerSession) -> str:
    if version == "1.6":
        payload: dict[str, Any] = {
            "connectorId": 1, "idTag": "TAG", "meterStart": 1000, "timestamp": TS,
        }  # fmt: skip
        reply = json.loads(str(await session.handle_frame(json.dumps([2, "s", "StartTransaction", payload]))))
        return str(reply[2]["transactionId"])
    payload = {
        "eventType": "Started", "timestamp": TS, "triggerReason": "Authorized", "seqNo": 0,
        "transactionInfo": {"transactionId": "TX-1"}, "evse": {"id": 1, "connectorId": 1},
        "idToken": {"idToken": "TAG", "type": "ISO14443"},
    }  # fmt: skip
    reply = json.loads(str(await session.handle_frame(json.dumps([2, "s", "TransactionEvent", payload]))))
    assert reply[0] == 3, reply
    return "TX-1"


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_a_start_whose_record_was_not_confirmed_is_recorded_at_restart(
    tmp_path: Path, version: str
) -> None:
    config = ocpp_config(tmp_path, authorize={"accept_all": True})
    cls = Session16 if version == "1.6" else Session2
    async with running_driver(config) as site:
        session = cls(cast(Any, None), "CP-1", version, site.driver.hub)
        tx_id = await start(version, session)
        [first] = site.of(TransactionEvent, event="started")
        # Confirmed by the outbox, the flag is written at once (no flush, no stop needed).
        async with asyncio.timeout(5):
            while flags(config.state_dir).get(tx_id) != 1:
                await asyncio.sleep(0.01)
    # What a crash between the row's commit and the record's leaves behind.
    db = sqlite3.connect(config.state_dir / "transactions.sqlite")
    db.execute("UPDATE transactions SET started_recorded = 0")
    db.commit()
    db.close()
    async with running_driver(config) as site:
        [again] = site.of(TransactionEvent, event="started")
        assert (again.charger_id, again.transaction_id) == ("CP-1", tx_id)
        assert again == first  # the same record as the one a crash kept from the outbox
        async with asyncio.timeout(5):
            while flags(config.state_dir).get(tx_id) != 1:
                await asyncio.sleep(0.01)
    async with running_driver(config) as site:  # confirmed now: not recorded a third time
        assert site.of(TransactionEvent, event="started") == []


async def test_a_store_from_before_the_flag_reads_every_start_as_recorded(tmp_path: Path) -> None:
    config = ocpp_config(tmp_path, authorize={"accept_all": True})
    config.state_dir.mkdir(parents=True)
    db = sqlite3.connect(config.state_dir / "transactions.sqlite")
    db.execute(
        "CREATE TABLE transactions (charger_id TEXT NOT NULL, transaction_id TEXT NOT NULL,"
        " evse INTEGER NOT NULL, id_tag TEXT, meter_start_wh REAL, meter_last_wh REAL,"
        " started_at REAL, stopped_at REAL, stop_reason TEXT, ended INTEGER NOT NULL DEFAULT 0,"
        " start_key TEXT, export_start_wh REAL, export_last_wh REAL,"
        " PRIMARY KEY (charger_id, transaction_id))"
    )
    db.execute(
        "INSERT INTO transactions (charger_id, transaction_id, evse, meter_start_wh, started_at)"
        " VALUES ('CP-1', '7', 1, 100.0, 1.7e9)"
    )
    db.commit()
    db.close()
    async with running_driver(config) as site:
        assert site.driver.store.get("CP-1", "7") is not None
        assert site.of(TransactionEvent, event="started") == []
    assert flags(config.state_dir) == {"7": 1}
