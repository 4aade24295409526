"""A 1.6 StartTransaction whose row was saved but whose `started` record the outbox could not
take (a real full disk past `durable_timeout_s`): the charger is told to retry, and its resend
gets the same transactionId, and exactly one `started` record reaches the broker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from drivers.ocpp.core.transactions import StoredTransaction
from drivers.ocpp.start_records import StartRecords
from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from gateway.foundation.recording import OutboxUnavailable
from gateway.topics import Topics
from tests.conftest import Collector, running_gateway
from tests.drivers.ocpp.peers import Peer, charger, is_error
from tests.drivers.ocpp.test_e2e import OCPP, TS, ocpp_port, wait_mqtt
from tests.gateway.test_outbox_faults import fill_disk, free_disk
from tests.seq_check import assert_no_gap, deduped

START = {"connectorId": 1, "idTag": "TAG-1", "meterStart": 1000, "timestamp": TS}


async def outbox_failing(gateway: Gateway, cp: Peer) -> None:
    """Fill the disk under the outbox and feed it meter values until a commit fails.

    The broker is away meanwhile, so the outbox must grow (with the broker up it reuses the
    pages of delivered rows and a full disk goes unnoticed)."""
    await fill_disk(gateway.outbox)
    reading = {
        "timestamp": TS,
        "sampledValue": [{"value": "7200", "measurand": "Power.Active.Import", "unit": "W"}],
    }
    async with asyncio.timeout(30):
        while gateway.outbox.failing is None:
            await cp.raw("MeterValues", {"connectorId": 1, "meterValue": [reading] * 20})


async def test_a_resent_start_gets_the_same_id_and_one_started_record(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    config = make_config(mosquitto, ocpp=OCPP, mqtt={"outbox": {"durable_timeout_s": 0.5}})
    every = f"{Topics(config.mqtt.topic_prefix, config.site.id).base}/#"
    async with (
        Collector(mosquitto.host, mosquitto.port, every) as mqtt,
        running_gateway(config) as gateway,
    ):
        await wait_mqtt(gateway)
        async with charger(ocpp_port(gateway), "CP-16") as cp:
            await cp.boot()
            await mosquitto.stop()
            await outbox_failing(gateway, cp)
            refused = await cp.raw("StartTransaction", START, timeout=30)
            assert is_error(refused, "InternalError"), refused
            assert gateway.outbox.withdrawn >= 1
            saved = gateway_store(gateway).by_start_key("CP-16", "1|tag-1|" + TS + "|1000")
            assert saved is not None  # the row was saved: its id is taken

            still_failing = await cp.raw("StartTransaction", START, timeout=30)
            assert is_error(still_failing, "InternalError")  # the disk is still full

            await free_disk(gateway.outbox)
            async with asyncio.timeout(20):
                while gateway.outbox.failing is not None:
                    await asyncio.sleep(0.02)
            await mosquitto.start()
            resent = await cp.raw("StartTransaction", START)
            tx_id = resent["transactionId"]
            assert str(tx_id) == saved.transaction_id
            assert resent["idTagInfo"]["status"] == "Accepted"
            again = await cp.raw("StartTransaction", START)  # its answer lost: same id, no record
            assert again["transactionId"] == tx_id

            later = await cp.raw("StartTransaction", {**START, "connectorId": 2})
            assert later["transactionId"] == tx_id + 1  # no id skipped, none handed out twice

            for tx, meter in ((tx_id, 4000), (tx_id + 1, 2000)):
                stop = {"transactionId": tx, "meterStop": meter, "timestamp": TS}
                assert await cp.raw("StopTransaction", stop) == {}
            async with asyncio.timeout(20):
                while gateway.outbox.depth:
                    await asyncio.sleep(0.05)
            last_seq = gateway.outbox.last_seq
            await mqtt.wait_for(lambda: seen(mqtt) >= last_seq, timeout=20)
    records = deduped(mqtt)
    assert seen(mqtt) >= last_seq  # and perhaps the charger's disconnect after it
    assert_no_gap(records, seen(mqtt))
    events = [(b["event"], b["transaction_id"]) for t, b in records if t.endswith("/transaction")]
    assert events.count(("started", str(tx_id))) == 1
    assert events.count(("ended", str(tx_id))) == 1
    started = next(b for t, b in records if b.get("event") == "started")
    assert started["transaction_id"] == str(tx_id) and started["meter_start_wh"] == 1000
    ended = next(b for t, b in records if b.get("event") == "ended")
    assert ended["energy_wh"] == 3000
    assert events.index(("started", str(tx_id))) < events.index(("ended", str(tx_id)))


def gateway_store(gateway: Gateway) -> Any:
    return next(d for d in gateway.drivers if hasattr(d, "hub")).hub.store


def seen(mqtt: Collector) -> int:
    seqs = [b["seq"] for _, b in deduped(mqtt)]
    return max(seqs, default=0)


def tx(n: int) -> StoredTransaction:
    return StoredTransaction("CP", str(n), 1, "TAG")


@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["ok", "fail", "cancel"]))))
def test_a_start_is_missing_exactly_while_its_last_recording_did_not_succeed(
    attempts: list[tuple[int, str]],
) -> None:
    asyncio.run(follow(attempts))


async def follow(attempts: list[tuple[int, str]]) -> None:
    """Each attempt records a start's `started` and ends as given: ok, failed or cancelled."""
    records = StartRecords()
    last: dict[int, str] = {}
    loop = asyncio.get_running_loop()
    for n, outcome in attempts:
        future: asyncio.Future[None] = loop.create_future()
        assert records.track(tx(n), future) is future
        assert records.running(tx(n)) is future
        assert records.missing(tx(n)) == (last.get(n, "ok") != "ok")  # until this one ends
        if outcome == "ok":
            future.set_result(None)
        elif outcome == "fail":
            future.set_exception(OutboxUnavailable("disk full"))
            future.exception()
        else:
            future.cancel()
        await asyncio.sleep(0)  # done callbacks run on the next turn of the loop
        last[n] = outcome
        assert records.running(tx(n)) is None
        for m in range(4):
            assert records.missing(tx(m)) == (last.get(m, "ok") != "ok")
