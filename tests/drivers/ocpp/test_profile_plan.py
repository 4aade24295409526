"""`limit` command -> charging profile, per version, with plain values (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from drivers.ocpp.core.profile_plan import (
    ProfilePlan,
    charging_profile,
    plan_profile,
    set_profile_payload,
)
from drivers.ocpp.core.profiles import ChargerRating, clear_by_criteria, clear_by_id
from drivers.ocpp.validation import outgoing_violation
from gateway.foundation.commands.schemas import LimitCommand

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC).timestamp()
RATING = ChargerRating(22_000, 3, 230.0, None, False)
V2G = ChargerRating(11_000, 3, 230.0, None, True)
VERSIONS = ["1.6", "2.0.1", "2.1"]


def plan(
    version: str = "2.0.1",
    rating: ChargerRating = RATING,
    tx: str | None = None,
    level: int = 1,
    **args: Any,
) -> ProfilePlan:
    result = plan_profile(
        LimitCommand.model_validate(args),
        version=version,
        rating=rating,
        now_s=NOW,
        stack_level=level,
        transaction_id=tx,
    )
    assert isinstance(result, ProfilePlan), result
    return result


def refused(version: str = "2.0.1", rating: ChargerRating = RATING, **args: Any) -> str:
    result = plan_profile(
        LimitCommand.model_validate(args), version=version, rating=rating, now_s=NOW, stack_level=1
    )
    assert isinstance(result, str), result
    return result


def payload(p: ProfilePlan, version: str) -> dict[str, Any]:
    out = set_profile_payload(p, version)
    assert outgoing_violation(version, "SetChargingProfile", out) is None
    return out


def schedule_of(out: dict[str, Any], version: str) -> dict[str, Any]:
    if version == "1.6":
        return dict(out["csChargingProfiles"]["chargingSchedule"])
    return dict(out["chargingProfile"]["chargingSchedule"][0])


def profile_of(out: dict[str, Any], version: str) -> dict[str, Any]:
    return dict(out["csChargingProfiles"] if version == "1.6" else out["chargingProfile"])


# -- purposes, ids, stack levels ------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("args", "purpose", "name16", "name2", "pid"),
    [
        (
            {"power_w": 7000},
            "charger_max",
            "ChargePointMaxProfile",
            "ChargingStationMaxProfile",
            5000,
        ),
        ({"power_w": 7000, "evse": 2}, "tx_default", "TxDefaultProfile", "TxDefaultProfile", 7002),
        (
            {"power_w": 7000, "evse": 0, "purpose": "tx_default"},
            "tx_default",
            "TxDefaultProfile",
            "TxDefaultProfile",
            7000,
        ),
        ({"power_w": 7000, "evse": 1, "purpose": "tx"}, "tx", "TxProfile", "TxProfile", 6001),
    ],
)
def test_purposes_and_profile_ids(
    version: str, args: dict[str, Any], purpose: str, name16: str, name2: str, pid: int
) -> None:
    p = plan(version, **args)
    assert (p.purpose, p.profile_id, p.stack_level) == (purpose, pid, 1)
    profile = profile_of(payload(p, version), version)
    assert profile["chargingProfilePurpose"] == (name16 if version == "1.6" else name2)
    assert profile["chargingProfileId" if version == "1.6" else "id"] == pid
    assert "transactionId" not in profile


def test_tx_profile_carries_the_transaction_in_each_version_type() -> None:
    p16 = plan("1.6", tx="17", power_w=5000, evse=1, purpose="tx")
    assert profile_of(payload(p16, "1.6"), "1.6")["transactionId"] == 17
    p2 = plan("2.0.1", tx="abc-1", power_w=5000, evse=1, purpose="tx")
    assert profile_of(payload(p2, "2.0.1"), "2.0.1")["transactionId"] == "abc-1"
    assert p2.detail()["transaction_id"] == "abc-1"


def test_stack_level_given_or_kept() -> None:
    assert plan(level=3, power_w=1000, evse=1).stack_level == 3
    assert plan(level=3, power_w=1000, evse=1, stack_level=7).stack_level == 7


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ({"power_w": 1000, "evse": 1, "purpose": "charger_max"}, "whole charger"),
        ({"power_w": 1000, "purpose": "tx"}, "evse 1 or more"),
        ({"power_w": -1000, "purpose": "charger_max"}, "cannot be negative"),
        ({"power_w": 1000, "valid_to": "2020-01-01T00:00:00Z"}, "valid_to is not in the future"),
        ({"power_w": 1000, "ttl_s": 10, "start": "2026-03-01T10:00:00Z"}, "after the TTL ends"),
        (
            {"schedule": [{"offset_s": 0, "power_w": 1000, "phases": 3}]},
            "3 phases; the charger has 1",
        ),
        ({"schedule": [{"offset_s": 0, "power_w": 1000, "operation_mode": "Idle"}]}, "2.1"),
    ],
)
def test_impossible_limits_are_refused_with_a_reason(args: dict[str, Any], reason: str) -> None:
    rating = ChargerRating(7_400, 1, 230.0, None, False)
    assert reason in refused("2.0.1", rating, **args)


# -- units ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_the_commands_unit_is_sent(version: str) -> None:
    amps = plan(version, current_a=6, evse=1)
    assert (amps.unit, amps.converted, amps.periods[0].sent) == ("A", False, 6.0)
    assert amps.detail()["applied_power_w"] == 4140.0
    watts = plan(version, power_w=4140, evse=1)
    assert (watts.unit, watts.converted, watts.periods[0].sent) == ("W", False, 4140.0)
    assert schedule_of(payload(watts, version), version)["chargingRateUnit"] == "W"


def test_a_configured_rate_unit_converts() -> None:
    only_amps = ChargerRating(22_000, 3, 230.0, "A", False)
    p = plan("1.6", only_amps, power_w=7000)
    assert (p.unit, p.converted, p.periods[0].sent) == ("A", True, 10.1)
    assert p.detail()["converted"] is True and p.detail()["rate_unit"] == "A"
    assert p.periods[0].power_w == pytest.approx(10.1 * 690)  # what the charger applies
    only_watts = ChargerRating(22_000, 1, 230.0, "W", False)
    q = plan("2.0.1", only_watts, current_a=16)
    assert (q.unit, q.periods[0].sent) == ("W", 3680.0)


def test_clamped_to_the_rating_without_rounding_over_it() -> None:
    p = plan("2.0.1", current_a=100, evse=1)
    assert p.clamped and p.periods[0].sent == 31.8 and p.periods[0].power_w <= 22_000
    q = plan("2.0.1", power_w=50_000)
    assert q.clamped and q.periods[0].sent == 22_000


def test_one_decimal_in_every_version() -> None:
    p = plan("1.6", current_a=7.123456, evse=1)
    out = payload(p, "1.6")
    assert schedule_of(out, "1.6")["chargingSchedulePeriod"][0]["limit"] == 7.1
    out["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = 7.12
    assert outgoing_violation("1.6", "SetChargingProfile", out) is not None


# -- kinds, schedules, validity ---------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_schedule_without_start_keeps_its_offsets_on_the_gateways_clock(version: str) -> None:
    p = plan(
        version,
        evse=1,
        schedule=[
            {"offset_s": 0, "current_a": 16},
            {"offset_s": 900, "current_a": 8},
            {"offset_s": 1800, "current_a": 0},
        ],
    )
    schedule = schedule_of(payload(p, version), version)
    # starts a minute early (charger clocks lag); later periods shift by that minute
    assert schedule["startSchedule"] == "2026-03-01T08:59:00Z"
    assert [x["startPeriod"] for x in schedule["chargingSchedulePeriod"]] == [0, 960, 1860]
    assert [x["limit"] for x in schedule["chargingSchedulePeriod"]] == [16, 8, 0]
    assert p.detail()["schedule"][1] == {"offset_s": 900, "power_w": 5520.0, "current_a": 8.0}
    assert p.detail()["start"] == "2026-03-01T09:00:00Z"  # where offset 0 falls


@pytest.mark.parametrize("version", VERSIONS)
def test_absolute_start_and_validity_as_given(version: str) -> None:
    p = plan(
        version,
        evse=1,
        power_w=3000,
        start="2026-03-01T22:00:00+01:00",
        valid_from="2026-03-01T20:00:00Z",
        valid_to="2026-03-02T06:00:00Z",
    )
    out = payload(p, version)
    profile = profile_of(out, version)
    assert schedule_of(out, version)["startSchedule"] == "2026-03-01T21:00:00Z"
    assert (profile["validFrom"], profile["validTo"]) == (
        "2026-03-01T20:00:00Z",
        "2026-03-02T06:00:00Z",
    )
    assert schedule_of(out, version)["chargingSchedulePeriod"][0]["startPeriod"] == 0


@pytest.mark.parametrize("version", VERSIONS)
def test_validity_defaults_to_now_and_the_ttl(version: str) -> None:
    p = plan(version, power_w=3000, ttl_s=120)
    profile = profile_of(payload(p, version), version)
    assert profile["validFrom"] == "2026-03-01T08:59:00Z"
    assert profile["validTo"] == "2026-03-01T09:03:00Z"  # TTL end + 60 s grace
    assert schedule_of(payload(p, version), version)["duration"] == 240  # skew + TTL + grace
    held = plan(version, power_w=3000)
    assert "validTo" not in profile_of(payload(held, version), version)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("recurrency", ["daily", "weekly"])
def test_recurring(version: str, recurrency: str) -> None:
    p = plan(
        version,
        evse=1,
        kind="recurring",
        recurrency=recurrency,
        start="2026-03-01T22:00:00Z",
        ttl_s=3600,
        schedule=[{"offset_s": 0, "power_w": 11000}, {"offset_s": 28800, "power_w": 3000}],
    )
    out = payload(p, version)
    profile = profile_of(out, version)
    assert profile["chargingProfileKind"] == "Recurring"
    assert profile["recurrencyKind"] == recurrency.capitalize()
    assert "duration" not in schedule_of(out, version)  # a TTL ends it through validTo
    assert profile["validTo"] == "2026-03-01T10:01:00Z"


@pytest.mark.parametrize("version", VERSIONS)
def test_relative_has_no_start(version: str) -> None:
    p = plan(
        version,
        evse=1,
        purpose="tx",
        kind="relative",
        schedule=[{"offset_s": 0, "current_a": 32}, {"offset_s": 3600, "current_a": 10}],
    )
    schedule = schedule_of(payload(p, version), version)
    assert "startSchedule" not in schedule
    assert [x["startPeriod"] for x in schedule["chargingSchedulePeriod"]] == [0, 3600]
    assert profile_of(payload(p, version), version)["chargingProfileKind"] == "Relative"


# -- V2G ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "rating", "reason"),
    [
        ("1.6", V2G, "OCPP 2.1"),
        ("2.0.1", V2G, "OCPP 2.1"),
        ("2.1", RATING, "bidirectional"),
    ],
)
def test_discharge_needs_a_bidirectional_21_charger(
    version: str, rating: ChargerRating, reason: str
) -> None:
    assert reason in refused(version, rating, power_w=-5000, evse=1)
    assert reason in refused(
        version, rating, schedule=[{"offset_s": 0, "power_w": 0, "setpoint": -3000}], evse=1
    )


def test_discharge_single_value_and_schedule_on_21() -> None:
    single = payload(plan("2.1", V2G, power_w=-6000, evse=1), "2.1")
    period = schedule_of(single, "2.1")["chargingSchedulePeriod"][0]
    assert period["operationMode"] == "CentralSetpoint"
    assert period["setpoint"] == -6000 and period["dischargeLimit"] == -6000
    assert profile_of(single, "2.1")["chargingProfilePurpose"] == "TxDefaultProfile"
    evening = plan(
        "2.1",
        V2G,
        evse=1,
        schedule=[
            {"offset_s": 0, "power_w": 11000, "operation_mode": "ChargingOnly"},
            {
                "offset_s": 3600,
                "power_w": 0,
                "operation_mode": "CentralSetpoint",
                "setpoint": -5000,
                "discharge_limit": -8000,
            },
            {"offset_s": 7200, "power_w": 0, "operation_mode": "Idle"},
        ],
    )
    periods = schedule_of(payload(evening, "2.1"), "2.1")["chargingSchedulePeriod"]
    assert [p["operationMode"] for p in periods] == ["ChargingOnly", "CentralSetpoint", "Idle"]
    assert (periods[1]["setpoint"], periods[1]["dischargeLimit"]) == (-5000, -8000)


# -- clearing and remote start -----------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_clear_payloads(version: str) -> None:
    by_id = clear_by_id(4201, version)
    assert outgoing_violation(version, "ClearChargingProfile", by_id) is None
    name = "TxDefaultProfile"
    criteria = clear_by_criteria(name, 1, 2, version)
    assert outgoing_violation(version, "ClearChargingProfile", criteria) is None
    if version == "1.6":
        assert criteria == {"connectorId": 1, "chargingProfilePurpose": name, "stackLevel": 2}
    else:
        assert criteria == {
            "chargingProfileCriteria": {
                "evseId": 1,
                "chargingProfilePurpose": name,
                "stackLevel": 2,
            }
        }


@pytest.mark.parametrize("version", VERSIONS)
def test_remote_start_profile(version: str) -> None:
    args = LimitCommand(current_a=10, purpose="tx", kind="relative")
    p = plan_profile(
        args, version=version, rating=RATING, now_s=NOW, stack_level=1, remote_start=True
    )
    assert isinstance(p, ProfilePlan)
    action = "RemoteStartTransaction" if version == "1.6" else "RequestStartTransaction"
    start: dict[str, Any] = (
        {"idTag": "T", "chargingProfile": charging_profile(p, version)}
        if version == "1.6"
        else {
            "idToken": {"idToken": "T", "type": "Central"},
            "remoteStartId": 1,
            "chargingProfile": charging_profile(p, version),
        }
    )
    assert outgoing_violation(version, action, start) is None
    assert start["chargingProfile"]["chargingProfilePurpose"] == "TxProfile"
