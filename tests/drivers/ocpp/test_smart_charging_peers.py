"""Smart charging against `ocpp`-package charge points: exact payloads (validated by the
library against each version's schema), chargers that refuse, and what EVs report (2.x)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.foundation.model import ChargerEvent, ChargerState, CommandStatus
from tests.drivers.ocpp.conftest import Site
from tests.drivers.ocpp.peers import charger

CHARGER = {"1.6": "CP-16", "2.0.1": "CP-201", "2.1": "CP-21"}
VERSIONS = list(CHARGER)
DEPARTURE = (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _profile(got: dict[str, Any]) -> dict[str, Any]:
    return dict(got.get("csChargingProfiles") or got["chargingProfile"])


@pytest.mark.parametrize("version", VERSIONS)
async def test_same_purpose_and_evse_reuse_id_and_stack_level(site: Site, version: str) -> None:
    cid = CHARGER[version]
    async with charger(site.port, cid, version) as cp:
        await site.connected(cid)
        first = await site.command(
            cid, "limit", evse=2, purpose="tx_default", power_w=5000, stack_level=4
        )
        assert first.status is CommandStatus.ACCEPTED, first
        one = _profile(await cp.wait_call("SetChargingProfile"))
        again = await site.command(cid, "limit", evse=2, purpose="tx_default", current_a=10)
        assert again.status is CommandStatus.ACCEPTED
        two = _profile(await cp.wait_call("SetChargingProfile"))
        key = "chargingProfileId" if version == "1.6" else "id"
        assert one[key] == two[key] == 7002
        assert one["stackLevel"] == two["stackLevel"] == 4
        all_evses = await site.command(cid, "limit", evse=0, purpose="tx_default", power_w=3000)
        assert all_evses.status is CommandStatus.ACCEPTED
        got = await cp.wait_call("SetChargingProfile")
        assert got.get("connectorId", got.get("evseId")) == 0
        assert _profile(got)["chargingProfilePurpose"] == "TxDefaultProfile"


@pytest.mark.parametrize("version", VERSIONS)
async def test_clear_by_criteria_payloads(site: Site, version: str) -> None:
    cid = CHARGER[version]
    async with charger(site.port, cid, version) as cp:
        await site.connected(cid)
        result = await site.command(cid, "limit", power_w=None, purpose="tx_default", stack_level=2)
        assert result.status is CommandStatus.ACCEPTED, result
        got = await cp.wait_call("ClearChargingProfile")
        if version == "1.6":
            assert got == {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 2}
        else:
            assert got == {
                "chargingProfileCriteria": {
                    "chargingProfilePurpose": "TxDefaultProfile",
                    "stackLevel": 2,
                }
            }
        cp.answers["ClearChargingProfile"] = {"status": "Unknown"}
        result = await site.command(cid, "limit", power_w=None, purpose="charger_max", evse=0)
        assert (
            result.status is CommandStatus.ACCEPTED and result.detail["charger_status"] == "Unknown"
        )


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("refusal", ["Rejected", "NotSupported"])
async def test_chargers_that_refuse(site: Site, version: str, refusal: str) -> None:
    cid = CHARGER[version]
    async with charger(site.port, cid, version) as cp:
        await site.connected(cid)
        for action in ("SetChargingProfile", "ClearChargingProfile", "GetCompositeSchedule"):
            if refusal == "NotSupported":
                cp.errors[action] = "NotSupported"
            else:
                cp.answers[action] = {"status": "Rejected"}
        commands: list[tuple[str, dict[str, Any]]] = [
            (
                "limit",
                {
                    "evse": 1,
                    "purpose": "tx_default",
                    "schedule": [{"offset_s": 0, "power_w": 4000}],
                },
            ),
            ("limit", {"power_w": None, "purpose": "tx"}),
            ("get_schedule", {"evse": 1, "duration_s": 3600}),
        ]
        for name, args in commands:
            result = await site.command(cid, name, **args)
            assert result.status is CommandStatus.REJECTED, (name, result)
            if refusal == "NotSupported":
                assert result.detail["error_code"] == "NotSupported"
            else:
                assert result.detail["charger_status"] == "Rejected"
        states = site.of(ChargerState, charger_id=cid)
        assert all(s.limits == () for s in states)


@pytest.mark.parametrize("version", VERSIONS)
async def test_start_with_a_schedule_is_a_tx_profile_in_the_start(site: Site, version: str) -> None:
    cid = CHARGER[version]
    async with charger(site.port, cid, version) as cp:
        await site.connected(cid)
        result = await site.command(
            cid,
            "start",
            id_tag="TAG-1",
            evse=1,
            limit={
                "schedule": [{"offset_s": 0, "current_a": 16}, {"offset_s": 1800, "current_a": 8}]
            },
        )
        assert result.status is CommandStatus.ACCEPTED, result
        got = await cp.wait_call(
            "RemoteStartTransaction" if version == "1.6" else "RequestStartTransaction"
        )
        profile = got["chargingProfile"]
        assert profile["chargingProfilePurpose"] == "TxProfile"
        assert profile["chargingProfileKind"] == "Relative" and "transactionId" not in profile
        schedule = (
            profile["chargingSchedule"] if version == "1.6" else profile["chargingSchedule"][0]
        )
        assert [p["limit"] for p in schedule["chargingSchedulePeriod"]] == [16, 8]
        cp.answers["RemoteStartTransaction" if version == "1.6" else "RequestStartTransaction"] = {
            "status": "Rejected"
        }
        refused = await site.command(cid, "start", id_tag="TAG-1", evse=1, limit={"power_w": 7000})
        assert refused.status is CommandStatus.REJECTED


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
async def test_ev_charging_needs_and_schedule_are_published(site: Site, version: str) -> None:
    cid = CHARGER[version]
    needs: dict[str, Any] = {
        "requestedEnergyTransfer": "AC_three_phase",
        "departureTime": DEPARTURE,
        "acChargingParameters": {
            "energyAmount": 30000,
            "evMinCurrent": 6,
            "evMaxCurrent": 32,
            "evMaxVoltage": 400,
        },
    }
    if version == "2.1":
        needs["v2xChargingParameters"] = {
            "maxChargePower": 11000,
            "maxDischargePower": 7000,
            "evMinV2XEnergyRequest": -20000,  # 20 kWh above the bottom of its V2X range
            "evMaxV2XEnergyRequest": 15000,
        }
    async with charger(site.port, cid, version) as cp:
        await site.connected(cid)
        answer = await cp.raw("NotifyEVChargingNeeds", {"evseId": 1, "chargingNeeds": needs})
        assert answer == {"status": "Accepted"}
        event = await site.wait_for(ChargerEvent, charger_id=cid, event="ev_charging_needs")
        assert event.data["energy_wh"] == 30000 and event.data["departure_time"].startswith(
            DEPARTURE[:16]
        )
        state = site.of(ChargerState, charger_id=cid)[-1]
        assert state.ev_needs[1].energy_wh == 30000
        if version == "2.1":
            assert state.ev_needs[1].max_discharge_power_w == 7000
            assert event.data["discharge_energy_wh"] == 20000
        answer = await cp.raw(
            "NotifyEVChargingSchedule",
            {
                "timeBase": DEPARTURE,
                "evseId": 1,
                "chargingSchedule": {
                    "id": 1,
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": 16},
                        {"startPeriod": 3600, "limit": 8},
                    ],
                },
            },
        )
        assert answer == {"status": "Accepted"}
        await site.wait_for(ChargerEvent, charger_id=cid, event="ev_charging_schedule")
        state = site.of(ChargerState, charger_id=cid)[-1]
        schedule = state.ev_needs[1].ev_schedule
        assert schedule is not None and [(p.offset_s, p.power_w) for p in schedule] == [
            (0, 11040),
            (3600, 5520),
        ]
        assert state.ev_needs[1].energy_wh == 30000  # the needs are kept


async def test_plain_caps_and_explicit_profiles_side_by_side(site: Site) -> None:
    async with charger(site.port, "CP-201", "2.0.1") as cp:
        await site.connected("CP-201")
        plain = await site.command("CP-201", "limit", current_a=6)
        assert plain.status is CommandStatus.ACCEPTED, plain
        got = _profile(await cp.wait_call("SetChargingProfile"))
        assert (got["id"], got["stackLevel"], got["chargingSchedule"][0]["chargingRateUnit"]) == (
            4200,
            1,
            "A",
        )
        assert "validFrom" in got  # OCA: every profile says from when it is valid
        explicit = await site.command("CP-201", "limit", purpose="charger_max", power_w=9000)
        assert explicit.status is CommandStatus.ACCEPTED
        got = _profile(await cp.wait_call("SetChargingProfile"))
        assert (got["id"], got["stackLevel"]) == (5000, 2)
        state = site.of(ChargerState, charger_id="CP-201")[-1]
        shown = {(lim.source, lim.purpose, lim.profile_id) for lim in state.limits}
        assert ("command", "charger_max", 4200) in shown and (
            "command",
            "charger_max",
            5000,
        ) in shown
        assert state.limit_in_force[0].current_a == 6


async def test_explicit_profiles_survive_a_gateway_restart(config_factory: Any) -> None:
    from tests.drivers.ocpp.conftest import running_driver

    config = config_factory()
    async with running_driver(config) as site, charger(site.port, "CP-201", "2.0.1"):
        await site.connected("CP-201")
        held = await site.command(
            "CP-201", "limit", evse=1, kind="relative", schedule=[{"offset_s": 0, "power_w": 5000}]
        )
        timed = await site.command(
            "CP-201", "limit", purpose="charger_max", power_w=9000, ttl_s=1.5
        )
        assert held.status is timed.status is CommandStatus.ACCEPTED
    async with running_driver(config) as site:
        state = site.of(ChargerState, charger_id="CP-201")[-1]
        assert {(lim.evse, lim.purpose) for lim in state.limits} == {
            (1, "tx_default"),
            (0, "charger_max"),
        }
        relative = next(lim for lim in state.limits if lim.evse == 1)
        assert relative.kind == "relative" and relative.schedule is not None
        async with charger(site.port, "CP-201", "2.0.1") as cp:
            assert await cp.wait_call("ClearChargingProfile") == {"chargingProfileId": 5000}
            state = await site.wait_for(ChargerState, charger_id="CP-201", reason="lease_expired")
            assert [lim.purpose for lim in state.limits] == ["tx_default"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_clear_by_criteria_never_lifts_a_sources_cap(site: Site, version: str) -> None:
    cid = CHARGER[version]
    async with charger(site.port, cid, version) as cp:
        await site.connected(cid)
        cap = await site.command(cid, "limit", power_w=11_000)
        assert cap.status is CommandStatus.ACCEPTED
        await cp.wait_call("SetChargingProfile")
        cleared = await site.command(cid, "limit", power_w=None, purpose="charger_max")
        assert cleared.status is CommandStatus.ACCEPTED
        await cp.wait_call("ClearChargingProfile")
        again = _profile(await cp.wait_call("SetChargingProfile"))  # the cap is sent again
        assert again["chargingProfileId" if version == "1.6" else "id"] == 4200
        state = site.of(ChargerState, charger_id=cid)[-1]
        assert state.limit_in_force[0].power_w == 11_000
