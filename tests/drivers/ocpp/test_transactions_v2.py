"""OCPP 2.0.1 and 2.1 stations over a real websocket: boot, status, TransactionEvent, events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.foundation.model import ChargerEvent, ChargerState, ChargerTelemetry, TransactionEvent
from tests.drivers.ocpp.conftest import Site
from tests.drivers.ocpp.peers import charger

EVENTS = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "ocpp" / "transaction_events_v2.json").read_text()
)
VERSIONS = [("2.0.1", "CP-201"), ("2.1", "CP-21")]


@pytest.mark.parametrize(("version", "cid"), VERSIONS)
async def test_a_whole_transaction(site: Site, version: str, cid: str) -> None:
    async with charger(site.port, cid, version) as cp:
        assert (await cp.boot())["status"] == "Accepted"
        status = {
            "timestamp": "2026-03-01T08:00:00Z",
            "connectorStatus": "Occupied",
            "evseId": 1,
            "connectorId": 1,
        }
        assert await cp.raw("StatusNotification", status) == {}
        auth = await cp.raw(
            "Authorize", {"idToken": {"idToken": "04A2B3C4D5E6F7", "type": "ISO14443"}}
        )
        assert auth == {"idTokenInfo": {"status": "Accepted"}}

        assert await cp.raw("TransactionEvent", EVENTS["started"]) == {}
        started = site.of(TransactionEvent, event="started")[-1]
        assert (started.transaction_id, started.evse, started.meter_start_wh) == (
            "a1b2c3d4-0001",
            1,
            20000,
        )
        state = site.of(ChargerState, charger_id=cid)[-1]
        assert state.transactions[0].transaction_id == "a1b2c3d4-0001"
        assert state.evses[1].status == "Occupied" and state.ocpp_version == version

        reply = await cp.raw("TransactionEvent", EVENTS["authorized"])
        assert reply == {"idTokenInfo": {"status": "Accepted"}}
        await cp.raw("TransactionEvent", EVENTS["updated"])
        updated = site.of(TransactionEvent, event="updated")[-1]
        assert updated.energy_wh == 2750 and updated.id_tag == "04a2b3c4d5e6f7"
        tele = site.of(ChargerTelemetry, charger_id=cid)[-1]
        assert (tele.power_w, tele.soc_pct, tele.transaction_id) == (11000, 61, "a1b2c3d4-0001")

        await cp.raw("TransactionEvent", EVENTS["ended"])
        ended = site.of(TransactionEvent, event="ended")[-1]
        assert ended.energy_wh == 11000 and ended.stop_reason == "EVDisconnected"
        assert ended.stopped_at is not None and ended.stopped_at.hour == 9
        assert site.of(ChargerState, charger_id=cid)[-1].transactions == ()

        # MeterValues after the end, and the Ended event resent: telemetry only, no new events.
        count = len(site.of(TransactionEvent))
        await cp.raw("TransactionEvent", EVENTS["ended"])
        mv = {"evseId": 1, "meterValue": EVENTS["ended"]["meterValue"]}
        assert await cp.raw("MeterValues", mv) == {}
        assert len(site.of(TransactionEvent)) == count


async def test_an_event_for_an_unseen_transaction_still_publishes_started(site: Site) -> None:
    async with charger(site.port, "CP-21", "2.1") as cp:
        ended = dict(
            EVENTS["ended"],
            transactionInfo={"transactionId": "lost-start", "stoppedReason": "Local"},
            evse={"id": 2},
        )
        await cp.raw("TransactionEvent", ended)
        kinds = [e.event for e in site.of(TransactionEvent, transaction_id="lost-start")]
        assert kinds == ["started", "ended"]


@pytest.mark.parametrize(("version", "cid"), VERSIONS)
@pytest.mark.parametrize(
    ("action", "payload", "event", "answer"),
    [
        (
            "DataTransfer",
            {"vendorId": "com.acme", "messageId": "Diag", "data": "x=1"},
            "data_transfer",
            {"status": "UnknownVendorId"},
        ),
        ("FirmwareStatusNotification", {"status": "Downloading"}, "firmware_status", {}),
        (
            "SecurityEventNotification",
            {"type": "FirmwareUpdated", "timestamp": "2026-03-01T08:00:00Z"},
            "security_event",
            {},
        ),
        (
            "NotifyEvent",
            {
                "generatedAt": "2026-03-01T08:00:00Z",
                "seqNo": 0,
                "eventData": [
                    {
                        "eventId": 1,
                        "timestamp": "2026-03-01T08:00:00Z",
                        "trigger": "Alerting",
                        "actualValue": "true",
                        "eventNotificationType": "HardWiredMonitor",
                        "component": {"name": "Connector"},
                        "variable": {"name": "Problem"},
                    }
                ],
            },
            "notify_event",
            {},
        ),
        ("LogStatusNotification", {"status": "Uploaded"}, "log_status", {}),
    ],
)
async def test_events_are_published(
    site: Site,
    version: str,
    cid: str,
    action: str,
    payload: dict[str, Any],
    event: str,
    answer: dict[str, Any],
) -> None:
    async with charger(site.port, cid, version) as cp:
        assert await cp.raw(action, payload) == answer
        published = site.of(ChargerEvent, charger_id=cid, event=event)[-1]
        assert published.data == payload


async def test_16_events_are_published(site: Site) -> None:
    async with charger(site.port, "CP-16") as cp:
        for action, payload, event in [
            ("DataTransfer", {"vendorId": "com.acme", "data": "hello"}, "data_transfer"),
            ("FirmwareStatusNotification", {"status": "Installed"}, "firmware_status"),
            ("DiagnosticsStatusNotification", {"status": "Uploaded"}, "diagnostics_status"),
            (
                "SecurityEventNotification",
                {"type": "StartupOfTheDevice", "timestamp": "2026-03-01T08:00:00Z"},
                "security_event",
            ),
        ]:
            await cp.raw(action, payload)
            assert site.of(ChargerEvent, charger_id="CP-16", event=event)[-1].data == payload


async def test_unknown_tag_is_invalid_in_a_transaction_event(site: Site) -> None:
    async with charger(site.port, "CP-201", "2.0.1") as cp:
        event = dict(EVENTS["authorized"], idToken={"idToken": "STRANGER", "type": "ISO14443"})
        assert await cp.raw("TransactionEvent", event) == {"idTokenInfo": {"status": "Invalid"}}
