"""Commands to chargers of every version over a real websocket: payloads, answers, outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from gateway.foundation.config import Config
from gateway.foundation.model import ChargerLimit, ChargerState, CommandStatus
from tests.drivers.ocpp.conftest import Site, running_driver
from tests.drivers.ocpp.peers import charger

CHARGER = {"1.6": "CP-16", "2.0.1": "CP-201", "2.1": "CP-21"}
VERSIONS = list(CHARGER)

CASES: list[tuple[str, dict[str, Any], str, str, dict[str, Any], str, dict[str, Any]]] = [
    # name, args, 1.6 action, 1.6 payload, 2.x action, 2.x payload
    (
        "start",
        {"id_tag": "TAG-1", "evse": 1},
        "RemoteStartTransaction",
        {"idTag": "TAG-1", "connectorId": 1},
        "RequestStartTransaction",
        {"idToken": {"idToken": "TAG-1", "type": "Central"}, "evseId": 1},
    ),
    (
        "stop",
        {"transaction_id": "42"},
        "RemoteStopTransaction",
        {"transactionId": 42},
        "RequestStopTransaction",
        {"transactionId": "42"},
    ),
    (
        "availability",
        {"operative": False, "evse": 2},
        "ChangeAvailability",
        {"connectorId": 2, "type": "Inoperative"},
        "ChangeAvailability",
        {"operationalStatus": "Inoperative", "evse": {"id": 2}},
    ),
    (
        "availability",
        {"operative": True},
        "ChangeAvailability",
        {"connectorId": 0, "type": "Operative"},
        "ChangeAvailability",
        {"operationalStatus": "Operative"},
    ),
    ("reset", {"type": "soft"}, "Reset", {"type": "Soft"}, "Reset", {"type": "OnIdle"}),
    ("reset", {"type": "hard"}, "Reset", {"type": "Hard"}, "Reset", {"type": "Immediate"}),
    (
        "unlock",
        {"evse": 1},
        "UnlockConnector",
        {"connectorId": 1},
        "UnlockConnector",
        {"evseId": 1, "connectorId": 1},
    ),
    (
        "trigger",
        {"message": "StatusNotification", "evse": 1},
        "TriggerMessage",
        {"requestedMessage": "StatusNotification", "connectorId": 1},
        "TriggerMessage",
        {"requestedMessage": "StatusNotification", "evse": {"id": 1}},
    ),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
async def test_commands_reach_the_charger(site: Site, version: str, case: tuple[Any, ...]) -> None:
    name, args, a16, p16, a2, p2 = case
    cid = CHARGER[version]
    async with charger(site.port, cid, version) as cp:
        await site.connected(cid)
        result = await site.command(cid, name, **args)
        assert result.status is CommandStatus.ACCEPTED, result
        action, expected = (a16, p16) if version == "1.6" else (a2, p2)
        got = await cp.wait_call(action)
        assert {k: v for k, v in got.items() if k != "remoteStartId"} == expected


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_refusal_is_rejected_with_the_chargers_answer(site: Site, version: str) -> None:
    cid = CHARGER[version]
    async with charger(site.port, cid, version) as cp:
        await site.connected(cid)
        cp.answers["Reset"] = {"status": "Rejected"}
        result = await site.command(cid, "reset", type="hard")
        assert result.status is CommandStatus.REJECTED
        assert result.detail["charger_status"] == "Rejected"
        cp.answers["UnlockConnector"] = {"status": "UnlockFailed"}
        result = await site.command(cid, "unlock", evse=1)
        assert result.status is CommandStatus.REJECTED and "UnlockFailed" in str(result.reason)
        cp.answers["TriggerMessage"] = {"status": "NotImplemented"}
        result = await site.command(cid, "trigger", message="Heartbeat")
        assert result.status is CommandStatus.REJECTED
        assert result.detail["charger_status"] == "NotImplemented"
        cp.errors["TriggerMessage"] = "NotSupported"
        result = await site.command(cid, "trigger", message="Heartbeat")
        assert result.status is CommandStatus.REJECTED
        assert result.detail["error_code"] == "NotSupported"


async def test_offline_unknown_and_unsupported(site: Site) -> None:
    result = await site.command("CP-16", "reset", type="soft")
    assert result.status is CommandStatus.REJECTED and result.reason == "charger is offline"
    result = await site.command("CP-201", "stop", transaction_id="not-a-number")
    assert result.status is CommandStatus.REJECTED and result.reason == "charger is offline"
    result = await site.command("CP-99", "reset", type="soft")
    assert result.status is CommandStatus.REJECTED and "unknown charger" in str(result.reason)
    async with charger(site.port, "CP-16") as cp:
        await site.connected("CP-16")
        result = await site.command("CP-16", "trigger", message="TransactionEvent")
        assert result.status is CommandStatus.REJECTED and "cannot trigger" in str(result.reason)
        result = await site.command("CP-16", "stop", transaction_id="abc")
        assert result.status is CommandStatus.REJECTED and "integers" in str(result.reason)
        assert cp.received == []


async def test_no_answer_is_a_timeout_and_the_next_command_still_works(
    config_factory: Callable[..., Config],
) -> None:
    config = config_factory(call_timeout_s=0.3)
    async with running_driver(config) as site, charger(site.port, "CP-201", "2.0.1") as cp:
        await site.connected("CP-201")
        cp.silent.add("Reset")
        result = await site.command("CP-201", "reset", type="soft")
        assert result.status is CommandStatus.TIMEOUT
        result = await site.command("CP-201", "unlock", evse=1)
        assert result.status is CommandStatus.ACCEPTED


async def test_commands_to_one_charger_are_serialised(site: Site) -> None:
    async with charger(site.port, "CP-16") as cp:
        await site.connected("CP-16")
        cp.hold = asyncio.Event()
        first = asyncio.create_task(site.command("CP-16", "reset", type="soft"))
        second = asyncio.create_task(site.command("CP-16", "unlock", evse=1))
        await cp.wait_call("Reset")
        await asyncio.sleep(0.2)
        assert cp.received == []  # the second CALL waits for the first answer
        cp.hold.set()
        results = await asyncio.gather(first, second)
        assert [r.status for r in results] == [CommandStatus.ACCEPTED] * 2
        await cp.wait_call("UnlockConnector")


async def test_a_charger_that_drops_mid_command(site: Site) -> None:
    async with charger(site.port, "CP-16") as cp:
        await site.connected("CP-16")
        cp.silent.add("Reset")
        pending = asyncio.create_task(site.command("CP-16", "reset", type="soft"))
        await cp.wait_call("Reset")
        await cp.ws.close()
    result = await pending
    assert result.status is CommandStatus.REJECTED and "offline" in str(result.reason)


# -- limits ---------------------------------------------------------------------------


async def test_16_limit_in_amps_rounded_and_charger_wide(site: Site) -> None:
    async with charger(site.port, "CP-16") as cp:
        await site.connected("CP-16")
        result = await site.command("CP-16", "limit", current_a=10.145)
        assert result.status is CommandStatus.ACCEPTED, result
        assert result.detail["applied_power_w"] == pytest.approx(10.1 * 690)
        assert result.detail["converted"] is False
        got = await cp.wait_call("SetChargingProfile")
        assert got["connectorId"] == 0
        profile = got["csChargingProfiles"]
        assert profile["chargingProfilePurpose"] == "ChargePointMaxProfile"
        schedule = profile["chargingSchedule"]
        assert schedule["chargingRateUnit"] == "A"
        # one decimal for 1.6 (the peer parsed it as a decimal to check multipleOf 0.1)
        assert float(schedule["chargingSchedulePeriod"][0]["limit"]) == 10.1
        state = site.of(ChargerState, charger_id="CP-16")[-1]
        assert sent_limits(state)[0].current_a == pytest.approx(10.1)
        assert sent_limits(state)[0].purpose == "charger_max"


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
async def test_2x_limit_per_evse_in_watts_clamped(site: Site, version: str) -> None:
    cid = CHARGER[version]
    async with charger(site.port, cid, version) as cp:
        await site.connected(cid)
        result = await site.command(cid, "limit", current_a=100, evse=1)
        assert result.status is CommandStatus.ACCEPTED
        assert result.detail["clamped"] is True
        got = await cp.wait_call("SetChargingProfile")
        assert got["evseId"] == 1
        assert got["chargingProfile"]["chargingProfilePurpose"] == "TxDefaultProfile"
        schedule = got["chargingProfile"]["chargingSchedule"][0]
        assert schedule["chargingRateUnit"] == "A"  # the command's unit
        assert schedule["chargingSchedulePeriod"][0]["limit"] == 31.8  # 22 kW / (3 x 230 V)
        assert (
            await site.command(cid, "limit", power_w=5000, evse=1)
        ).status is CommandStatus.ACCEPTED
        renewed = await cp.wait_call("SetChargingProfile")
        assert renewed["chargingProfile"]["id"] == got["chargingProfile"]["id"]  # replaced in place


@pytest.mark.parametrize("version", VERSIONS)
async def test_limit_clear(site: Site, version: str) -> None:
    cid = CHARGER[version]
    async with charger(site.port, cid, version) as cp:
        await site.connected(cid)
        assert (
            await site.command(cid, "limit", power_w=5000, evse=1)
        ).status is CommandStatus.ACCEPTED
        cp.answers["ClearChargingProfile"] = {"status": "Unknown"}  # already gone: fine
        result = await site.command(cid, "limit", power_w=None, evse=1)
        assert result.status is CommandStatus.ACCEPTED
        got = await cp.wait_call("ClearChargingProfile")
        assert list(got.values()) == [4201]
        assert sent_limits(site.of(ChargerState, charger_id=cid)[-1]) == ()


async def test_a_limit_with_ttl_lapses_and_is_withdrawn(site: Site) -> None:
    async with charger(site.port, "CP-201", "2.0.1") as cp:
        await site.connected("CP-201")
        result = await site.command("CP-201", "limit", power_w=3000, ttl_s=0.3)
        assert result.status is CommandStatus.ACCEPTED
        got = await cp.wait_call("SetChargingProfile")
        assert (
            got["chargingProfile"]["chargingSchedule"][0]["duration"] >= 1
        )  # charger-side backstop
        assert sent_limits(site.of(ChargerState, charger_id="CP-201")[-1])[0].expires_at is not None
        clear = await cp.wait_call("ClearChargingProfile")
        assert clear == {"chargingProfileId": 4200}
        state = await site.wait_for(ChargerState, charger_id="CP-201", reason="lease_expired")
        assert sent_limits(state) == ()


async def test_discharge_on_a_bidirectional_21_charger(site: Site) -> None:
    async with charger(site.port, "CP-21", "2.1") as cp:
        await site.connected("CP-21")
        result = await site.command("CP-21", "limit", power_w=-6000, evse=1)
        assert result.status is CommandStatus.ACCEPTED, result
        got = await cp.wait_call("SetChargingProfile")  # the peer validated it against 2.1
        period = got["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]
        assert period["operationMode"] == "CentralSetpoint"
        assert period["setpoint"] == -6000 and period["dischargeLimit"] == -6000
        assert sent_limits(site.of(ChargerState, charger_id="CP-21")[-1])[0].power_w == -6000


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_discharge_is_rejected_before_21(site: Site, version: str) -> None:
    cid = CHARGER[version]
    async with charger(site.port, cid, version) as cp:
        await site.connected(cid)
        result = await site.command(cid, "limit", power_w=-3000)
        assert result.status is CommandStatus.REJECTED
        assert "needs OCPP 2.1" in str(result.reason)
        assert cp.received == []


async def test_a_refused_profile_changes_no_state(site: Site) -> None:
    async with charger(site.port, "CP-16") as cp:
        await site.connected("CP-16")
        cp.answers["SetChargingProfile"] = {"status": "Rejected"}
        result = await site.command("CP-16", "limit", power_w=4000, evse=1)
        assert result.status is CommandStatus.REJECTED
        assert result.detail["charger_status"] == "Rejected"
        assert sent_limits(site.of(ChargerState, charger_id="CP-16")[-1]) == ()


async def test_limits_survive_a_gateway_restart(config_factory: Callable[..., Config]) -> None:
    config = config_factory()
    async with running_driver(config) as site, charger(site.port, "CP-201", "2.0.1") as cp:
        await site.connected("CP-201")
        held = await site.command("CP-201", "limit", power_w=4000, evse=1)
        timed = await site.command("CP-201", "limit", power_w=3000, ttl_s=2.0)
        assert held.status is timed.status is CommandStatus.ACCEPTED
    async with running_driver(config) as site:
        state = site.of(ChargerState, charger_id="CP-201")[-1]
        assert {(lim.evse, lim.power_w) for lim in sent_limits(state)} == {(0, 3000), (1, 4000)}
        async with charger(site.port, "CP-201", "2.0.1") as cp:
            # The TTL kept running across the restart: the limit is withdrawn on time.
            assert await cp.wait_call("ClearChargingProfile") == {"chargingProfileId": 4200}
            state = await site.wait_for(ChargerState, charger_id="CP-201", reason="lease_expired")
            assert [lim.evse for lim in sent_limits(state)] == [1]
    async with running_driver(config) as site:
        state = site.of(ChargerState, charger_id="CP-201")[-1]
        assert [lim.evse for lim in sent_limits(state)] == [1]


def sent_limits(state: ChargerState) -> tuple[ChargerLimit, ...]:
    """The limits sources set (the rating entry shown beside them left out)."""
    return tuple(lim for lim in state.limits if lim.source != "rating")
