from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.foundation.model import (
    ChargerEvent,
    ChargerId,
    ChargerLimit,
    ChargerState,
    ChargerTelemetry,
    DeviceId,
    EvseState,
    MeterTelemetry,
    PhaseValues,
    SiteTelemetry,
    StorageState,
    StorageTelemetry,
    TransactionEvent,
)
from gateway.payloads import to_message
from gateway.topics import Topics, decode_id, encode_id

T = Topics("pilebridge", "lingang-01")
WHEN = datetime(2026, 3, 1, 8, 30, 0, 123456, tzinfo=UTC)


def test_charger_telemetry_omits_what_was_not_reported() -> None:
    msg = to_message(
        ChargerTelemetry(ChargerId("CP-1"), evse=2, power_w=7200.0, energy_wh=15000.0), T
    )
    assert msg.topic == "pilebridge/lingang-01/charger/CP-1/telemetry"
    assert msg.body == {"evse": 2, "power_w": 7200.0, "energy_wh": 15000.0}
    assert (msg.retain, msg.droppable) == (False, True)


def test_phases_and_times() -> None:
    rec = ChargerTelemetry(
        ChargerId("CP-1"),
        1,
        phases={"L1": PhaseValues(current_a=16.0, voltage_v=231.5)},
        sampled_at=WHEN,
    )
    body = to_message(rec, T).body
    assert body["phases"] == {"L1": {"current_a": 16.0, "voltage_v": 231.5}}
    assert body["sampled_at"] == "2026-03-01T08:30:00.123Z"


def test_transaction_events_are_never_droppable() -> None:
    rec = TransactionEvent(
        ChargerId("CP-1"),
        "ended",
        "42",
        1,
        id_tag="04A2",
        energy_wh=12500.0,
        meter_start_wh=1000.0,
        started_at=WHEN,
        stopped_at=WHEN,
        stop_reason="EVDisconnected",
    )
    msg = to_message(rec, T)
    assert msg.topic.endswith("/charger/CP-1/transaction")
    assert msg.droppable is False and msg.retain is False
    assert msg.body["event"] == "ended" and msg.body["energy_wh"] == 12500.0
    assert msg.body["stop_reason"] == "EVDisconnected"


def test_state_is_retained_and_complete() -> None:
    rec = ChargerState(
        ChargerId("CP-1"),
        True,
        ocpp_version="2.0.1",
        vendor="ABB",
        evses={1: EvseState("Charging")},
        limits=(ChargerLimit(evse=0, power_w=11000.0),),
    )
    msg = to_message(rec, T)
    assert msg.retain is True and msg.droppable is False
    assert msg.body["evses"] == {"1": {"status": "Charging"}}
    assert msg.body["limits"] == [{"evse": 0, "power_w": 11000.0, "source": "command"}]
    storage = to_message(StorageState(DeviceId("bess-1"), False, reason="lease_expired"), T)
    assert storage.topic == "pilebridge/lingang-01/storage/bess-1/state"
    assert storage.body["connected"] is False and storage.body["reason"] == "lease_expired"


@pytest.mark.parametrize(
    ("record", "suffix"),
    [
        (StorageTelemetry(DeviceId("b"), power_w=-3000.0, soc_pct=55.0), "storage/b/telemetry"),
        (MeterTelemetry(DeviceId("m"), power_w=1200.0), "meter/m/telemetry"),
        (SiteTelemetry(chargers_power_w=1.0, storage_power_w=2.0), "site/telemetry"),
        (ChargerEvent(ChargerId("c"), "data_transfer", {"vendorId": "x"}), "charger/c/event"),
    ],
)
def test_topics_per_record_kind(record: object, suffix: str) -> None:
    assert to_message(record, T).topic == f"pilebridge/lingang-01/{suffix}"  # type: ignore[arg-type]


def test_ids_that_cannot_stand_in_a_topic_level_are_encoded() -> None:
    assert encode_id("CP 1|A") == "CP 1|A"  # spaces and pipes are fine in MQTT topics
    for raw in ("a/b", "x+y", "#1", "50%"):
        level = encode_id(raw)
        assert "/" not in level and "+" not in level and "#" not in level
        assert decode_id(level) == raw


def test_command_topics_parse() -> None:
    assert T.parse_command("pilebridge/lingang-01/charger/CP%2F1/cmd/limit") == (
        "charger",
        "CP/1",
        "limit",
    )
    assert T.parse_command("pilebridge/lingang-01/site/cmd/grid_limit") == (
        "site",
        "lingang-01",
        "grid_limit",
    )
    assert T.parse_command("pilebridge/lingang-01/charger/CP-1/cmd/limit/result") is None
    assert T.parse_command("other/lingang-01/charger/CP-1/cmd/limit") is None
