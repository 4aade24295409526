"""The bytes a charger's telemetry and transaction records become, against a plain reference.

The reference spells the contract out field by field (docs/mqtt-api.md): the stdlib's strict
encoder, `ts` first, values not reported left out, times as RFC 3339 UTC milliseconds, the
charger id percent-encoded in the topic. The outbox's encoder (topic and time caches, the
body serialised once and `ts` put in front) must write the same bytes or refuse the same
records, whatever the values: NaN, infinities, tiny and huge floats, huge integers, lone
surrogates in ids and keys, times in any zone.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.foundation.clock import FakeClock
from gateway.foundation.model import (
    ChargerId,
    ChargerTelemetry,
    PhaseValues,
    Record,
    TransactionEvent,
)
from gateway.outbox import Outbox, RecordRefused
from gateway.payloads import to_message
from gateway.topics import Topics, encode_id

TOPICS = Topics("pilebridge", "site-1")
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

texts = st.text(max_size=8) | st.sampled_from(["CP-1", "a/b", "x+y", "50%", "\ud800", "e-1", "null"])
numbers = (
    st.none()
    | st.floats()
    | st.floats(min_value=-1e-3, max_value=1e-3)
    | st.sampled_from([0.0, -0.0, 1e-4, 9.99e-5, 1e16, 1e300, float("nan"), float("inf")])
    | st.integers(min_value=-(2**70), max_value=2**70)
)
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8)), None]
)
times = st.none() | st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=zones
)
phases = st.none() | st.dictionaries(
    texts,
    st.builds(PhaseValues, power_w=numbers, current_a=numbers, voltage_v=numbers, energy_wh=numbers),
    max_size=3,
)
telemetry = st.builds(
    ChargerTelemetry,
    charger_id=texts,
    evse=st.integers(min_value=0, max_value=2**65),
    power_w=numbers,
    energy_wh=numbers,
    current_a=numbers,
    voltage_v=numbers,
    soc_pct=numbers,
    frequency_hz=numbers,
    temperature_c=numbers,
    power_offered_w=numbers,
    phases=phases,
    transaction_id=st.none() | texts,
    sampled_at=times,
    energy_export_wh=numbers,
    current_export_a=numbers,
)
transactions = st.builds(
    TransactionEvent,
    charger_id=texts,
    event=st.sampled_from(["started", "updated", "ended"]),
    transaction_id=texts,
    evse=st.integers(min_value=0, max_value=8),
    id_tag=st.none() | texts,
    energy_wh=numbers,
    meter_start_wh=numbers,
    meter_now_wh=numbers,
    started_at=times,
    stopped_at=times,
    stop_reason=st.none() | texts,
    energy_export_wh=numbers,
)
clock_times = st.floats(min_value=0, max_value=4_102_444_800) | st.just(1_767_225_600.9995)


def reference_ts(value: datetime | float) -> str:
    dt = value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
    dt = datetime.fromtimestamp(dt.timestamp(), UTC)  # as the record's time is read: its instant
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def compact(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {k: v for k, v in pairs if v is not None}


def reference_phases(r: ChargerTelemetry) -> dict[str, Any] | None:
    if not r.phases:
        return None
    return {
        name: compact(
            [
                ("power_w", p.power_w),
                ("current_a", p.current_a),
                ("voltage_v", p.voltage_v),
                ("energy_wh", p.energy_wh),
            ]
        )
        for name, p in r.phases.items()
    }


def reference(record: Record, now: float) -> tuple[str, bytes | None]:
    """(topic, the record's bytes without seq), bytes None when the record is refused."""
    if isinstance(record, ChargerTelemetry):
        leaf, body = "telemetry", compact(
            [
                ("evse", record.evse),
                ("power_w", record.power_w),
                ("energy_wh", record.energy_wh),
                ("current_a", record.current_a),
                ("voltage_v", record.voltage_v),
                ("soc_pct", record.soc_pct),
                ("frequency_hz", record.frequency_hz),
                ("temperature_c", record.temperature_c),
                ("power_offered_w", record.power_offered_w),
                ("phases", reference_phases(record)),
                ("transaction_id", record.transaction_id),
                ("sampled_at", record.sampled_at and reference_ts(record.sampled_at)),
                ("energy_export_wh", record.energy_export_wh),
                ("current_export_a", record.current_export_a),
            ]
        )
    else:
        assert isinstance(record, TransactionEvent)
        leaf, body = "transaction", compact(
            [
                ("event", record.event),
                ("transaction_id", record.transaction_id),
                ("evse", record.evse),
                ("id_tag", record.id_tag),
                ("energy_wh", record.energy_wh),
                ("meter_start_wh", record.meter_start_wh),
                ("meter_now_wh", record.meter_now_wh),
                ("started_at", record.started_at and reference_ts(record.started_at)),
                ("stopped_at", record.stopped_at and reference_ts(record.stopped_at)),
                ("stop_reason", record.stop_reason),
                ("energy_export_wh", record.energy_export_wh),
            ]
        )
    topic = f"pilebridge/site-1/charger/{encode_id(record.charger_id)}/{leaf}"
    if CONTROL.search(topic):
        return topic, None  # Mosquitto drops a client that publishes one
    try:
        topic.encode()
        text = json.dumps(
            {"ts": reference_ts(now), **body},
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
        return topic, text.encode()
    except (ValueError, TypeError):
        return topic, None


OUTBOX = Outbox(Path("/nonexistent/outbox.sqlite"))
"""Never opened: only its encoder is used."""


def encoded(record: Record, now: float) -> tuple[str, bytes | None]:
    outbox = OUTBOX
    outbox._clock = FakeClock(now)
    message = to_message(record, TOPICS)
    try:
        return message.topic, outbox._encode(message.topic, message.body)
    except RecordRefused as exc:
        assert exc.invalid
        return message.topic, None


@settings(max_examples=300)
@given(telemetry, clock_times)
def test_telemetry_bytes_are_the_reference(record: ChargerTelemetry, now: float) -> None:
    assert encoded(record, now) == reference(record, now)


@settings(max_examples=300)
@given(transactions, clock_times)
def test_transaction_bytes_are_the_reference(record: TransactionEvent, now: float) -> None:
    assert encoded(record, now) == reference(record, now)


def test_the_same_record_twice_gives_the_same_bytes() -> None:
    """Topics and times come from caches the second time: nothing of the first leaks."""
    when = datetime(2026, 3, 1, 8, 0, 0, 999_700, tzinfo=UTC)
    for charger in ("CP-1", "CP/1", "CP-1"):
        record = TransactionEvent(ChargerId(charger), "updated", "7", 1, started_at=when)
        for _ in range(2):
            assert encoded(record, 1_767_225_600.25) == reference(record, 1_767_225_600.25)
    later = datetime(2026, 3, 1, 8, 0, 1, tzinfo=UTC)
    record = ChargerTelemetry(ChargerId("CP-1"), 1, sampled_at=later, phases={})
    assert encoded(record, 0.0) == reference(record, 0.0)
