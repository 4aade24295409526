"""Malformed frames over a real websocket: the right CALLERROR, and the connection stays usable.

Covers what the `ocpp` package alone gets wrong: no reply to invalid JSON, no reply to
unknown actions on 2.1, FormatViolation instead of 1.6's FormationViolation, InternalError for
an optional field a handler does not name.
"""

from __future__ import annotations

import pytest

from tests.drivers.ocpp.conftest import Site
from tests.drivers.ocpp.peers import Peer, charger, is_error

VERSIONS = ["1.6", "2.0.1", "2.1"]
CHARGER = {"1.6": "CP-16", "2.0.1": "CP-201", "2.1": "CP-21"}


async def still_usable(cp: Peer) -> None:
    assert "currentTime" in await cp.raw("Heartbeat", {})


@pytest.mark.parametrize("version", VERSIONS)
async def test_invalid_json_gets_a_callerror_with_id_minus_one(site: Site, version: str) -> None:
    async with charger(site.port, CHARGER[version], version) as cp:
        reply = await cp.send_text("this is { not json")
        expected = "FormationViolation" if version == "1.6" else "RpcFrameworkError"
        assert (reply.unique_id, reply.error_code) == ("-1", expected)
        await still_usable(cp)


@pytest.mark.parametrize("version", VERSIONS)
async def test_wrong_message_type(site: Site, version: str) -> None:
    async with charger(site.port, CHARGER[version], version) as cp:
        reply = await cp.send_text('[9, "m-9", "Heartbeat", {}]')
        expected = "FormationViolation" if version == "1.6" else "MessageTypeNotSupported"
        assert (reply.unique_id, reply.error_code) == ("m-9", expected)
        await still_usable(cp)


@pytest.mark.parametrize("version", VERSIONS)
async def test_call_whose_payload_is_not_an_object(site: Site, version: str) -> None:
    async with charger(site.port, CHARGER[version], version) as cp:
        reply = await cp.send_text('[2, "m-1", "Heartbeat", [1, 2]]')
        expected = "FormationViolation" if version == "1.6" else "FormatViolation"
        assert (reply.unique_id, reply.error_code) == ("m-1", expected)
        await still_usable(cp)


BOOT_16 = {"chargePointVendor": "Acme", "chargePointModel": "M"}
BOOT_2 = {"reason": "PowerUp", "chargingStation": {"vendorName": "Acme", "model": "M"}}


@pytest.mark.parametrize(
    ("version", "action", "payload", "code"),
    [
        ("1.6", "BootNotification", {"chargePointVendor": "Acme"}, "OccurenceConstraintViolation"),
        ("2.0.1", "BootNotification", {"reason": "PowerUp"}, "OccurenceConstraintViolation"),
        ("2.1", "BootNotification", {"reason": "PowerUp"}, "OccurrenceConstraintViolation"),
        (
            "1.6",
            "StatusNotification",
            {"connectorId": "1", "errorCode": "NoError", "status": "Available"},
            "TypeConstraintViolation",
        ),
        ("2.0.1", "Heartbeat", {"customData": 5}, "TypeConstraintViolation"),
        (
            "1.6",
            "BootNotification",
            {**BOOT_16, "chargePointModel": "M" * 21},
            "TypeConstraintViolation",
        ),
        (
            "2.1",
            "BootNotification",
            {**BOOT_2, "chargingStation": {"vendorName": "V" * 51, "model": "M"}},
            "TypeConstraintViolation",
        ),
        (
            "1.6",
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Dancing"},
            "PropertyConstraintViolation",
        ),
        ("1.6", "FooBar", {}, "NotImplemented"),
        ("2.0.1", "FooBar", {}, "NotImplemented"),
        ("2.1", "FooBar", {}, "NotImplemented"),  # the ocpp package sends nothing here
        ("1.6", "GetConfiguration", {}, "NotSupported"),  # a CSMS->CP action: known, not ours
        ("2.1", "GetVariables", {"getVariableData": []}, "NotSupported"),
    ],
)
async def test_bad_payloads(
    site: Site, version: str, action: str, payload: dict, code: str
) -> None:
    async with charger(site.port, CHARGER[version], version) as cp:
        reply = await cp.raw(action, payload)
        assert is_error(reply, code), reply
        await still_usable(cp)


@pytest.mark.parametrize("version", VERSIONS)
async def test_extra_and_vendor_fields_are_tolerated(site: Site, version: str) -> None:
    payload = dict(BOOT_16 if version == "1.6" else BOOT_2)
    payload["vendorExtension"] = {"x": 1}  # not in the schema: ignored, not refused
    async with charger(site.port, CHARGER[version], version) as cp:
        reply = await cp.raw("BootNotification", payload)
        assert reply["status"] == "Accepted"


async def test_a_burst_of_garbage_then_normal_traffic(site: Site) -> None:
    async with charger(site.port, "CP-201", "2.0.1") as cp:
        for text in ["", "[", "null", "[2]", '[3, "nobody-asked", {}]', "[4]", "42"]:
            await cp.ws.send(text)
        await still_usable(cp)
        assert (await cp.boot())["status"] == "Accepted"
