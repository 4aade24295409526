"""The documented MQTT interface cannot drift from the code that publishes it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.api_spec import CHANNELS, PAYLOAD_SCHEMAS, match_topic
from gateway.api_spec.render import rendered_docs
from gateway.foundation.clock import format_ts
from gateway.foundation.commands.schemas import COMMAND_SCHEMAS
from gateway.foundation.model import (
    ActiveTransaction,
    ChargerConfigReport,
    ChargerEvent,
    ChargerId,
    ChargerLimit,
    ChargerState,
    ChargerTelemetry,
    DeviceId,
    DeviceKind,
    EvseState,
    FlexibilityPart,
    MeterState,
    MeterTelemetry,
    PhaseValues,
    Record,
    SetpointState,
    SiteEvent,
    SiteFlexibility,
    SiteTelemetry,
    StorageState,
    StorageTelemetry,
    TransactionEvent,
)
from gateway.payloads import to_message
from gateway.topics import Topics
from tests.ops.schemas import validate_message

DOCS = Path(__file__).resolve().parents[2] / "docs"
TOPICS = Topics("pilebridge", "site-1")
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
PHASES = {"L1": PhaseValues(7000.0, 10.0, 230.0, 5.0), "L2": PhaseValues(power_w=-1.0)}


def full_records() -> list[Record]:
    """One record of every kind with every field set (None fields would hide drift)."""
    cp, bess, grid = ChargerId("CP/1"), DeviceId("bess-1"), DeviceId("grid-1")
    return [
        ChargerTelemetry(
            cp,
            1,
            7200.0,
            1234.5,
            10.4,
            230.1,
            55.0,
            50.0,
            31.5,
            11000.0,
            PHASES,
            "tx-1",
            T0,
            250.0,
            3.1,
        ),
        TransactionEvent(
            cp, "ended", "tx-1", 1, "04A2B3", 1500.0, 100.0, 1600.0, T0, T0, "EVDisconnected", 250.0
        ),
        ChargerEvent(cp, "firmware_status", {"status": "Installed"}),
        ChargerState(
            cp,
            True,
            "2.0.1",
            "Acme",
            "AC22",
            "1.2.3",
            "SN1",
            {0: EvseState("Available"), 1: EvseState("Charging", "NoError", {1: "Occupied"})},
            (ActiveTransaction("tx-1", 1, "04A2B3", T0, 100.0),),
            (ChargerLimit(1, 7000.0, None, T0, "command"), ChargerLimit(0, None, 16.0)),
            T0,
            "lease_expired",
            {0: ChargerLimit(0, None, 16.0, None, "controller")},
            provision={
                "MeterValueSampleInterval": {
                    "status": "Accepted",
                    "value": "60",
                    "wanted": "10",
                    "at": format_ts(T0.timestamp()),
                    "reason": "-",
                }
            },
            firmware_update={
                "status": "Installed",
                "request_id": 3,
                "updated_at": format_ts(T0.timestamp()),
                "location": "http://gw/files/fw.bin",
                "previous_version": "1.0",
                "version": "1.1",
                "version_changed": True,
            },
            reservations=(
                {
                    "reservation_id": 5,
                    "evse": 1,
                    "id_tag": "04A2B3",
                    "expires_at": format_ts(T0.timestamp()),
                },
            ),
        ),
        ChargerConfigReport(
            cp,
            T0,
            (
                {
                    "key": "EVSE[main]/Power",
                    "value": "22000",
                    "readonly": True,
                    "evse": 1,
                    "connector": 1,
                    "component_instance": "main",
                    "instance": "AC",
                    "attribute": "MaxSet",
                    "data_type": "decimal",
                    "unit": "W",
                },
            ),
            "GetBaseReport",
        ),
        StorageTelemetry(
            bess, -20000.0, 55.5, 98.0, 700.0, -28.6, 25.0, 50000.0, 50000.0, 50.0, 1e6, 9e5
        ),
        StorageState(
            bess,
            True,
            "manual",
            SetpointState(-20000.0, T0, "command"),
            50000.0,
            50000.0,
            10.0,
            95.0,
            0.0,
            ("overtemp",),
            {"manufacturer": "Acme", "serial": "B1"},
            "mqtt_lost",
        ),
        MeterTelemetry(grid, 12000.0, 5e6, 1e5, 50.01, 231.0, 17.3, PHASES),
        MeterState(grid, False, {"model": "M1"}, "timeout"),
        SiteTelemetry(
            14400.0,
            -20000.0,
            -5600.0,
            120000.0,
            50000.0,
            "config",
            119000.0,
            "limit",
            160.0,
            {"L1": 20.5, "L2": -3.0, "L3": 0.0},
            {"CP/1": 7200.0, "CP-2": None},
            {"bess-1": -20000.0},
            True,
        ),
        SiteEvent("grid_meter_lost", {"meter": "grid-1", "failsafe_charger_power_w": None}),
        SiteFlexibility(
            -5600.0,
            70000.0,
            30000.0,
            3600.0,
            None,
            (
                FlexibilityPart("storage", "bess-1", 30000.0, 70000.0, 3600.0, 5400.0),
                FlexibilityPart("charging", None, 7200.0, 0.0, None, None),
            ),
        ),
    ]


def stamped(body: dict[str, Any], seq: int = 7) -> dict[str, Any]:
    return {"seq": seq, "ts": format_ts(T0.timestamp()), **body}


def _property_names(schema: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for name, prop in schema.get("properties", {}).items():
        names.add(name)
        names |= _property_names(prop)
        for key in ("items", "additionalProperties"):
            if isinstance(prop.get(key), dict):
                names |= _property_names(prop[key])
    return names


def test_generated_documents_are_up_to_date() -> None:
    stale = [
        relative
        for relative, text in rendered_docs(DOCS).items()
        if not (DOCS / relative).exists() or (DOCS / relative).read_text(encoding="utf-8") != text
    ]
    assert not stale, f"run `python -m gateway.api_spec`; out of date: {stale}"
    assert "mqtt-api.md" in rendered_docs(DOCS)


def test_no_stale_schema_files() -> None:
    on_disk = {p.stem for p in (DOCS / "schemas").glob("*.json")}
    assert on_disk == set(PAYLOAD_SCHEMAS)


@pytest.mark.parametrize("record", full_records(), ids=lambda r: type(r).__name__)
def test_every_published_record_validates_and_every_field_is_documented(record: Record) -> None:
    message = to_message(record, TOPICS)
    name = validate_message(message.topic, stamped(message.body), TOPICS)
    channel, device_id = match_topic(message.topic, TOPICS) or (None, None)
    assert channel is not None and channel.retained is message.retain
    assert channel.topic(TOPICS, device_id or "") == message.topic
    documented = _property_names(PAYLOAD_SCHEMAS[name])
    fields = {f.name for f in dataclasses.fields(record)} - {"charger_id", "device_id"}
    fields -= {"max_charge_w", "max_discharge_w"} if isinstance(record, StorageState) else set()
    assert fields <= documented, f"undocumented fields of {type(record).__name__}"


def test_unknown_fields_and_wrong_types_fail_validation() -> None:
    body = stamped(to_message(full_records()[0], TOPICS).body)
    topic = TOPICS.device(DeviceKind.CHARGER, "CP-1", "telemetry")
    with pytest.raises(AssertionError, match="power_kw"):
        validate_message(topic, {**body, "power_kw": 7.2}, TOPICS)
    with pytest.raises(AssertionError, match="seq"):
        validate_message(topic, {k: v for k, v in body.items() if k != "seq"}, TOPICS)
    with pytest.raises(AssertionError, match="not in the documented topic tree"):
        validate_message(f"{TOPICS.base}/charger/CP-1/telemetry/extra", body, TOPICS)


def test_every_command_has_a_channel_a_result_channel_and_its_pydantic_schema() -> None:
    keys = {c.key for c in CHANNELS}
    for target, name in COMMAND_SCHEMAS:
        assert f"{target.value}-cmd-{name}" in keys and f"{target.value}-cmd-{name}-result" in keys
        schema = PAYLOAD_SCHEMAS[f"command-{target.value}-{name}"]
        generated = COMMAND_SCHEMAS[(target, name)].model_json_schema()
        assert set(schema["properties"]) == set(generated["properties"]) | {"id"}
        assert schema.get("required", []) == generated.get("required", [])
        device = "" if target is DeviceKind.SITE else "dev-1"
        topic = TOPICS.device(target, device, f"cmd/{name}")
        assert TOPICS.parse_command(topic) is not None
        assert match_topic(topic, TOPICS) is not None
        assert match_topic(TOPICS.result_topic(topic), TOPICS) is not None


def test_command_schemas_accept_what_the_router_accepts() -> None:
    validate_message(
        f"{TOPICS.base}/storage/bess-1/cmd/setpoint",
        {"id": "r1", "power_w": -5e3, "ttl_s": 30},
        TOPICS,
    )
    validate_message(f"{TOPICS.base}/charger/CP-1/cmd/limit", {"power_w": None}, TOPICS)
    with pytest.raises(AssertionError):
        validate_message(f"{TOPICS.base}/charger/CP-1/cmd/limit", {"evse": 1}, TOPICS)
    with pytest.raises(AssertionError):
        validate_message(
            f"{TOPICS.base}/storage/bess-1/cmd/setpoint", {"power_w": 1, "ttl": 5}, TOPICS
        )


def test_gateway_topics_are_documented() -> None:
    assert validate_message(TOPICS.availability, b"online", TOPICS) == "gateway-availability"
    with pytest.raises(AssertionError):
        validate_message(TOPICS.availability, b"maybe", TOPICS)
    for kind in (DeviceKind.CHARGER, DeviceKind.STORAGE, DeviceKind.METER):
        assert match_topic(TOPICS.device(kind, "x", "state"), TOPICS) is not None
    assert match_topic(TOPICS.device(DeviceKind.SITE, "", "telemetry"), TOPICS) is not None


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        assert part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_asyncapi_document_is_consistent() -> None:
    document = yaml.safe_load((DOCS / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert document["asyncapi"] == "3.0.0"
    refs = _refs(document)
    assert refs
    for ref in refs:
        _resolve(document, ref)
    for key, operation in document["operations"].items():
        channel_ref = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/"), key
        assert operation["action"] in ("send", "receive")
        assert operation["bindings"]["mqtt"]["qos"] == 1
    for channel in CHANNELS:
        address = document["channels"][channel.key]["address"]
        parameters = set(document["channels"][channel.key]["parameters"])
        assert {p.strip("{}") for p in address.split("/") if p.startswith("{")} == parameters
    retained = {c.key for c in CHANNELS if c.retained}
    assert retained == {
        "gateway-availability",
        "gateway-info",
        "charger-state",
        "charger-config",
        "storage-state",
        "meter-state",
    }


def test_human_page_explains_the_contract() -> None:
    page = (DOCS / "mqtt-api.md").read_text(encoding="utf-8")
    for phrase in (
        "load convention",
        "seq",
        "QoS 1",
        "Response Topic",
        "Correlation Data",
        "retained",
        "Last Will",
    ):
        assert phrase in page, phrase
