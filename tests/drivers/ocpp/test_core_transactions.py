"""Transaction bookkeeping rules as plain values: what each message publishes and saves."""

from __future__ import annotations

from typing import Any

import pytest

from drivers.ocpp.core.transactions import (
    Reading,
    StoredTransaction,
    fold_v2_event,
    fold_v16_stop,
    v16_start_key,
)


def v2(tx: StoredTransaction | None, event_type: str, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "charger_id": "CP",
        "transaction_id": "T",
        "event_type": event_type,
        "evse": None,
        "id_tag": None,
        "at_s": 1000.0,
        "stopped_reason": None,
        "readings": [],
    }
    args.update(kw)
    return fold_v2_event(tx, **args)


def test_started_with_a_begin_reading() -> None:
    out = v2(None, "Started", evse=1, readings=[Reading(500.0, "Transaction.Begin")])
    assert out.events == ("started",) and out.save
    assert (out.tx.evse, out.tx.meter_start_wh, out.tx.started_at) == (1, 500.0, 1000.0)


def test_updates_and_a_late_id_token() -> None:
    tx = StoredTransaction("CP", "T", 1, None, meter_start_wh=500.0, meter_last_wh=500.0)
    out = v2(tx, "Updated", readings=[Reading(900.0, "Sample.Periodic")])
    assert out.events == ("updated",) and not out.save  # the reading alone is not billing data
    assert out.tx.meter_last_wh == 900.0 and out.tx.meter_start_wh == 500.0
    out = v2(tx, "Updated", id_tag="04A2")
    assert out.events == ("updated",) and out.save and out.tx.id_tag == "04A2"
    assert v2(tx, "Updated").events == ()  # nothing new: nothing published


def test_first_energy_seen_is_the_start_when_no_begin_reading() -> None:
    out = v2(None, "Started", evse=2)
    assert out.tx.meter_start_wh is None
    out = v2(out.tx, "Updated", readings=[Reading(1200.0), Reading(1300.0)])
    assert (out.tx.meter_start_wh, out.tx.meter_last_wh) == (1200.0, 1300.0) and out.save


@pytest.mark.parametrize("first_seen", ["Updated", "Ended"])
def test_unseen_transactions_publish_started_first(first_seen: str) -> None:
    out = v2(None, first_seen, evse=1, readings=[Reading(10.0)], stopped_reason="EVDisconnected")
    expected = ("started", "ended") if first_seen == "Ended" else ("started",)
    assert out.events == expected


def test_ended_and_ended_again() -> None:
    tx = StoredTransaction("CP", "T", 1, "A", meter_start_wh=100.0)
    out = v2(tx, "Ended", at_s=2000.0, readings=[Reading(400.0, "Transaction.End")])
    assert out.events == ("ended",) and out.save
    assert (out.tx.stopped_at, out.tx.stop_reason, out.tx.meter_last_wh) == (2000.0, "Local", 400.0)
    assert v2(out.tx, "Ended") is None
    assert v2(out.tx, "Updated") is None


def test_16_stop_rules() -> None:
    tx = StoredTransaction("CP", "7", 1, "A", meter_start_wh=100.0)
    args: dict[str, Any] = {
        "charger_id": "CP",
        "transaction_id": "7",
        "id_tag": None,
        "meter_stop_wh": 900.0,
        "at_s": 5.0,
    }
    out = fold_v16_stop(tx, reason=None, **args)
    assert out.events == ("ended",) and out.tx.stop_reason == "Local" and out.tx.ended
    again = fold_v16_stop(out.tx, reason="Remote", **args)
    assert again.events == () and not again.save and again.tx.stop_reason == "Local"
    unknown = fold_v16_stop(None, reason="EVDisconnected", **{**args, "transaction_id": "99"})
    assert unknown.events == ("ended",) and unknown.tx.meter_start_wh is None
    assert unknown.tx.meter_last_wh == 900.0


def test_16_start_key_ignores_tag_case() -> None:
    base = {"connectorId": 1, "idTag": "04A2", "timestamp": "t", "meterStart": 5}
    assert v16_start_key(base) == v16_start_key({**base, "idTag": "04a2"})
    assert v16_start_key(base) != v16_start_key({**base, "meterStart": 6})
    assert v16_start_key(base) != v16_start_key({**base, "connectorId": 2})


def test_energy_an_ev_gives_back_is_accounted() -> None:
    out = v2(None, "Started", evse=1, readings=[Reading(500.0, "Transaction.Begin", 40.0)])
    assert (out.tx.export_start_wh, out.tx.export_last_wh) == (40.0, 40.0)
    out = v2(out.tx, "Updated", readings=[Reading(600.0, "Sample.Periodic", 1040.0)])
    assert out.tx.export_last_wh == 1040.0 and out.tx.export_start_wh == 40.0
    assert not out.save  # a running reading; the start was saved with `started`
