"""Charger telemetry's values are declared once, on the record, and read from there.

The OCPP meter translation, the MQTT payload and the API schema take the list from
`ChargerTelemetry` (its `measured` values) at import. Any record, with any values reported or
not, reaches MQTT with exactly its reported values under their field names, in the record's
order, and validates against the generated schema; any set of measurands reaches the record
under the names the schema documents.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from drivers.ocpp.core.measurands import MEASURANDS
from drivers.ocpp.core.meter import read_meter_value
from gateway.api_spec import PAYLOAD_SCHEMAS
from gateway.foundation.model import ChargerId, ChargerTelemetry, PhaseValues
from gateway.foundation.model.fields import measured_fields
from gateway.payloads import to_message
from gateway.topics import Topics
from tests.ops.schemas import validate_message

TOPICS = Topics("pilebridge", "site-1")
VALUES = measured_fields(ChargerTelemetry)
values = st.none() | st.floats(-1e6, 1e6, allow_nan=False)
phases = st.none() | st.dictionaries(
    st.sampled_from(["L1", "L2", "L3", "N"]),
    st.builds(PhaseValues, *[values for _ in measured_fields(PhaseValues)]),
    max_size=4,
)
records = st.builds(
    ChargerTelemetry,
    st.just(ChargerId("CP-1")),
    st.integers(0, 8),
    phases=phases,
    transaction_id=st.none() | st.text("0123456789", min_size=1, max_size=6),
    sampled_at=st.none() | st.datetimes(timezones=st.just(UTC)).filter(lambda d: d.year > 1970),
    **{name: values for name in VALUES},
)


def test_every_measured_value_is_in_the_schema_in_the_records_order() -> None:
    properties = list(PAYLOAD_SCHEMAS["charger-telemetry"]["properties"])
    fields = [f.name for f in dataclasses.fields(ChargerTelemetry) if f.name != "charger_id"]
    assert [p for p in properties if p in fields] == fields
    assert set(VALUES) >= {"power_w", "energy_wh", "current_export_a", "power_offered_w"}


@given(records)
def test_a_record_is_published_with_exactly_its_reported_values(record: ChargerTelemetry) -> None:
    message = to_message(record, TOPICS)
    body = message.body
    reported = [
        f.name
        for f in dataclasses.fields(record)
        if f.name != "charger_id" and getattr(record, f.name) not in (None, {})
    ]
    assert list(body) == reported
    for name in VALUES:
        assert body.get(name) == getattr(record, name)
    for phase, values in (record.phases or {}).items():
        for name in measured_fields(PhaseValues):
            assert body["phases"][phase].get(name) == getattr(values, name)
    validate_message(message.topic, {**body, "seq": 1, "ts": "2026-01-01T00:00:00.000Z"}, TOPICS)


readings = st.dictionaries(
    st.sampled_from(sorted(MEASURANDS)), st.integers(0, 100_000).map(float), min_size=1
)


@given(readings, st.booleans())
def test_every_measurand_reaches_its_value_on_the_record(
    reading: dict[str, float], v2: bool
) -> None:
    sampled: list[dict[str, Any]] = []
    for measurand, value in reading.items():
        unit = MEASURANDS[measurand][1]
        sv: dict[str, Any] = {"measurand": measurand, "value": value if v2 else str(value)}
        sv.update({"unitOfMeasure": {"unit": unit}} if v2 else {"unit": unit})
        sampled.append(sv)
    sample = read_meter_value(
        {"timestamp": "2026-03-01T08:00:00Z", "sampledValue": sampled},
        charger_id=ChargerId("CP-1"),
        evse=1,
        transaction_id=None,
        now_s=datetime(2026, 3, 1, 8, tzinfo=UTC).timestamp(),
        v2=v2,
    )
    telemetry = sample.telemetry
    assert sample.skipped == []
    by_field = {MEASURANDS[m][0]: v for m, v in reading.items()}
    export = by_field.pop("power_export_w", None)
    if export is not None:  # folded into power_w, load convention
        by_field["power_w"] = by_field.get("power_w", 0.0) - export
    if not by_field.get("current_export_a"):
        by_field.pop("current_export_a", None)
    assert {n: getattr(telemetry, n) for n in VALUES if getattr(telemetry, n) is not None} == (
        by_field
    )
