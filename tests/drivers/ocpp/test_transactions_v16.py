"""OCPP 1.6J sessions end to end over a real websocket: boot, status, transactions, meter values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.foundation.config import Config
from gateway.foundation.model import ChargerState, ChargerTelemetry, TransactionEvent
from tests.drivers.ocpp.conftest import Site, running_driver
from tests.drivers.ocpp.peers import charger

TS = "2026-03-01T08:00:00Z"


def mv(wh: float, **extra: Any) -> dict[str, Any]:
    return {
        "timestamp": "2026-03-01T08:05:00Z",
        "sampledValue": [
            {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
        ],
        **extra,
    }


async def test_boot_status_and_a_whole_transaction(site: Site) -> None:
    async with charger(site.port, "CP-16") as cp:
        boot = await cp.boot()
        assert boot["status"] == "Accepted" and boot["interval"] == 300
        assert (await cp.raw("Heartbeat", {}))["currentTime"].endswith("Z")
        assert (
            await cp.raw(
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Preparing"},
            )
            == {}
        )
        auth = await cp.raw("Authorize", {"idTag": "04a2b3c4d5e6f7"})  # case differs
        assert auth == {"idTagInfo": {"status": "Accepted"}}
        unknown = await cp.raw("Authorize", {"idTag": "DEADBEEF"})
        assert unknown == {"idTagInfo": {"status": "Invalid"}}
        start = await cp.raw(
            "StartTransaction",
            {"connectorId": 1, "idTag": "04a2b3c4d5e6f7", "meterStart": 10000, "timestamp": TS},
        )
        tx_id = start["transactionId"]
        assert start["idTagInfo"]["status"] == "Accepted"
        started = site.of(TransactionEvent, event="started")[-1]
        assert started.transaction_id == str(tx_id) and started.meter_start_wh == 10000
        await cp.raw(
            "MeterValues", {"connectorId": 1, "transactionId": tx_id, "meterValue": [mv(12500)]}
        )
        tele = site.of(ChargerTelemetry)[-1]
        assert (tele.evse, tele.energy_wh, tele.power_w) == (1, 12500.0, 7200.0)
        assert tele.transaction_id == str(tx_id)
        updated = site.of(TransactionEvent, event="updated")[-1]
        assert updated.energy_wh == 2500
        stop = await cp.raw(
            "StopTransaction",
            {
                "transactionId": tx_id,
                "meterStop": 15000,
                "timestamp": "2026-03-01T09:00:00Z",
                "idTag": "04A2B3C4D5E6F7",
                "reason": "EVDisconnected",
            },
        )
        assert stop == {"idTagInfo": {"status": "Accepted"}}
        ended = site.of(TransactionEvent, event="ended")[-1]
        assert ended.energy_wh == 5000 and ended.stop_reason == "EVDisconnected"
        state = site.of(ChargerState)[-1]
        assert state.connected and state.vendor == "Acme" and state.ocpp_version == "1.6"
        assert state.evses[1].status == "Preparing" and state.transactions == ()
        mark = site.mark()
    state = await site.wait_for(ChargerState, since=mark, connected=False, charger_id="CP-16")
    assert state.vendor == "Acme"


async def test_transactions_survive_a_gateway_restart(
    config_factory: Callable[..., Config],
) -> None:
    config = config_factory()
    async with running_driver(config) as site, charger(site.port, "CP-16") as cp:
        start = await cp.raw(
            "StartTransaction",
            {"connectorId": 2, "idTag": "TAG-1", "meterStart": 500, "timestamp": TS},
        )
    async with running_driver(config) as site:
        state = site.of(ChargerState, charger_id="CP-16")[-1]
        assert [t.transaction_id for t in state.transactions] == [str(start["transactionId"])]
        async with charger(site.port, "CP-16") as cp:
            stop = await cp.raw(
                "StopTransaction",
                {"transactionId": start["transactionId"], "meterStop": 1700, "timestamp": TS},
            )
            assert stop == {}
            ended = site.of(TransactionEvent, event="ended")[-1]
            assert ended.energy_wh == 1200 and ended.evse == 2 and ended.id_tag == "TAG-1"
            again = await cp.raw(
                "StartTransaction",
                {"connectorId": 1, "idTag": "TAG-1", "meterStart": 1, "timestamp": TS},
            )
            assert again["transactionId"] > start["transactionId"]  # never handed out twice


QUIRKS = __import__("json").loads(
    (
        __import__("pathlib").Path(__file__).parents[2] / "fixtures" / "ocpp" / "quirks_v16.json"
    ).read_text()
)


async def start(cp: Any, meter: int = 10000, tag: str = "TAG-1", connector: int = 1) -> int:
    reply = await cp.raw(
        "StartTransaction",
        {"connectorId": connector, "idTag": tag, "meterStart": meter, "timestamp": TS},
    )
    return int(reply["transactionId"])


def for_tx(payload: dict[str, Any], tx: int) -> dict[str, Any]:
    """A recorded payload (transaction 1) for the transaction this test started."""
    return {**payload, "transactionId": tx}


async def test_field_quirks_in_meter_values(site: Site) -> None:
    async with charger(site.port, "CP-16") as cp:
        tx = await start(cp)
        assert isinstance(tx, int) and tx > 0  # a new database counts from a clock floor
        await cp.raw("MeterValues", for_tx(QUIRKS["meter_values_as_numbers"], tx))
        assert site.of(TransactionEvent, event="updated")[-1].energy_wh == 750
        assert site.of(ChargerTelemetry)[-1].power_w == 7400
        await cp.raw(
            "MeterValues", for_tx(QUIRKS["kwh_labelled_wh"], tx)
        )  # 11.5 "Wh" after 10750 Wh
        assert site.of(ChargerTelemetry)[-1].energy_wh == 11500
        assert site.of(TransactionEvent, event="updated")[-1].energy_wh == 1500
        await cp.raw("MeterValues", for_tx(QUIRKS["clock_not_set"], tx))
        tele = site.of(ChargerTelemetry)[-1]
        assert tele.sampled_at is None and tele.energy_wh == 12000
        assert await cp.raw("MeterValues", QUIRKS["unknown_things"]) == {}
        assert site.of(ChargerTelemetry)[-1].voltage_v == 230
        await cp.raw("MeterValues", QUIRKS["transaction_id_zero"])  # 0: the open one
        assert site.of(TransactionEvent, event="updated")[-1].energy_wh == 2500
        stop = await cp.raw(
            "StopTransaction", {"transactionId": -1, "meterStop": 13000, "timestamp": TS}
        )
        assert stop == {}
        ended = site.of(TransactionEvent, event="ended")[-1]
        assert (ended.transaction_id, ended.energy_wh) == (str(tx), 3000)


async def test_duplicate_start_gets_the_same_id(site: Site) -> None:
    async with charger(site.port, "CP-16") as cp:
        first = await start(cp, 100, "04A2B3C4D5E6F7")
        again = await start(cp, 100, "04a2b3c4d5e6f7")  # resent after a lost answer
        assert again == first
        assert len(site.of(TransactionEvent, event="started")) == 1
        other = await start(cp, 100, "TAG-1", connector=2)
        assert other != first


async def test_stop_for_an_unknown_transaction_is_answered_and_published(site: Site) -> None:
    async with charger(site.port, "CP-16") as cp:
        stop = await cp.raw(
            "StopTransaction",
            {"transactionId": 987654, "meterStop": 5000, "timestamp": TS, "idTag": "nobody"},
        )
        assert stop == {"idTagInfo": {"status": "Invalid"}}
        ended = site.of(TransactionEvent, event="ended")[-1]
        assert ended.transaction_id == "987654" and ended.meter_now_wh == 5000
        assert ended.energy_wh is None  # unknown start: no invented energy
        again = await cp.raw(
            "StopTransaction", {"transactionId": 987654, "meterStop": 5000, "timestamp": TS}
        )
        assert again == {}  # a retry is answered, and not published twice
        assert len(site.of(TransactionEvent, transaction_id="987654")) == 1


async def test_meter_values_after_stop_do_not_reopen_the_transaction(site: Site) -> None:
    async with charger(site.port, "CP-16") as cp:
        tx = await start(cp, 1000)
        await cp.raw("StopTransaction", {"transactionId": tx, "meterStop": 2000, "timestamp": TS})
        count = len(site.of(TransactionEvent))
        late = {"connectorId": 1, "transactionId": tx, "meterValue": [mv(2000)]}
        assert await cp.raw("MeterValues", late) == {}
        assert len(site.of(TransactionEvent)) == count
        assert site.of(ChargerTelemetry)[-1].transaction_id == str(tx)
        assert site.of(ChargerState, charger_id="CP-16")[-1].transactions == ()


async def test_stop_with_transaction_data_and_local_timestamps(site: Site) -> None:
    async with charger(site.port, "CP-16") as cp:
        tx = await start(cp, 0)
        stop = {
            "transactionId": tx,
            "meterStop": 4200,
            "timestamp": "2026-03-01T17:00:00+08:00",
            "transactionData": [mv(4200)],
        }
        await cp.raw("StopTransaction", stop)
        ended = site.of(TransactionEvent, event="ended")[-1]
        assert ended.stopped_at is not None and ended.stopped_at.hour == 9
        assert site.of(ChargerTelemetry)[-1].energy_wh == 4200


async def test_charger_id_with_space_and_pipe(site: Site) -> None:
    async with charger(site.port, "CP 7|B") as cp:
        await cp.boot()
        state = site.of(ChargerState, charger_id="CP 7|B")[-1]
        assert state.connected and state.vendor == "Acme"


async def test_decimal_and_string_numbers_where_16_wants_integers(site: Site) -> None:
    async with charger(site.port, "CP-16") as cp:
        start = await cp.raw(
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG-1", "meterStart": 1000.4, "timestamp": TS},
        )
        tx = start["transactionId"]
        late = {"connectorId": 1, "transactionId": str(tx), "meterValue": [mv(1500)]}
        assert await cp.raw("MeterValues", late) == {}
        assert site.of(TransactionEvent, event="updated")[-1].transaction_id == str(tx)
        stop = {"transactionId": f"{tx}", "meterStop": "2000.6", "timestamp": TS}
        assert await cp.raw("StopTransaction", stop) == {}
        ended = site.of(TransactionEvent, event="ended")[-1]
        assert ended.transaction_id == str(tx) and ended.energy_wh == pytest.approx(1000.2)
        bad = await cp.raw("StopTransaction", {**stop, "meterStop": "lots"})
        assert bad.error_code == "TypeConstraintViolation"  # not a number at all: refused


async def test_a_new_meter_reading_12_wh_at_start_is_not_taken_for_a_mislabel(site: Site) -> None:
    """12 Wh at start and 12 kWh at stop is odd, not proof of kWh: the session keeps its energy."""
    async with charger(site.port, "CP-16") as cp:
        await cp.boot()
        start = await cp.raw(
            "StartTransaction",
            {"connectorId": 1, "idTag": "04A2B3C4D5E6F7", "meterStart": 12, "timestamp": TS},
        )
        await cp.raw(
            "StopTransaction",
            {"transactionId": start["transactionId"], "meterStop": 12000, "timestamp": TS},
        )
        ended = site.of(TransactionEvent, event="ended")[-1]
        assert (ended.meter_start_wh, ended.meter_now_wh, ended.energy_wh) == (12, 12000, 11988)
