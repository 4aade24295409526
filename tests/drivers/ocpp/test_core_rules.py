"""Pure rules: timestamps, authorization, statuses, credentials, charger ids, charging profiles."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from drivers.ocpp.core.auth import check_basic, check_client_certificate, effective_profile
from drivers.ocpp.core.authorize import TagAuthorizer
from drivers.ocpp.core.profiles import (
    ChargerRating,
    LimitPlan,
    clear_profile,
    plan_limit,
    set_profile,
)
from drivers.ocpp.core.status import evse_state, evse_state_v16
from drivers.ocpp.core.timestamps import event_time, parse_timestamp
from drivers.ocpp.server import charger_id_from_path
from drivers.ocpp.validation import outgoing_violation
from gateway.foundation.model import EvseState

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03-01T08:00:00Z", "2026-03-01T08:00:00+00:00"),
        ("2026-03-01T08:00:00.123456789Z", "2026-03-01T08:00:00.123456+00:00"),
        ("2026-03-01T16:00:00+08:00", "2026-03-01T08:00:00+00:00"),  # local time with offset
        ("2026-03-01T16:00:00.000+0800", "2026-03-01T08:00:00+00:00"),
        ("2026-03-01T08:00:00", "2026-03-01T08:00:00+00:00"),  # no offset: read as UTC
        ("2026-03-01 08:00:00", "2026-03-01T08:00:00+00:00"),
        ("1970-01-01T00:00:05Z", None),  # clock not set yet
        ("2000-01-01T00:00:00Z", None),
        ("2031-01-01T00:00:00Z", None),  # far future
        ("yesterday", None),
        ("", None),
        (12345, None),
        (None, None),
    ],
)
def test_timestamps(raw: object, expected: str | None) -> None:
    parsed = parse_timestamp(raw, NOW)
    assert (parsed.isoformat() if parsed else None) == expected


def test_event_time_falls_back_to_the_gateway_clock() -> None:
    assert event_time("1970-01-01T00:00:00Z", NOW).timestamp() == NOW


@pytest.mark.parametrize(
    ("tag", "status"),
    [
        ("04A2B3C4D5E6F7", "Accepted"),
        ("04a2b3c4d5e6f7", "Accepted"),
        (" tag-1 ", "Accepted"),
        ("UNKNOWN", "Invalid"),
        ("", "Invalid"),
        (None, "Invalid"),
    ],
)
def test_authorization_is_case_insensitive(tag: str | None, status: str) -> None:
    assert TagAuthorizer(["04A2B3C4D5E6F7", "Tag-1"]).status(tag) == status


def test_accept_all_and_token_types() -> None:
    assert TagAuthorizer([], accept_all=True).status("anything") == "Accepted"
    auth = TagAuthorizer(["A"])
    assert auth.token_status("x", "NoAuthorization") == "Accepted"
    assert auth.token_status("x", "ISO14443") == "Invalid"
    assert auth.token_status("a", "ISO14443") == "Accepted"


def test_status_tables() -> None:
    assert evse_state_v16("Charging", "NoError") == EvseState("Charging")
    assert evse_state_v16("Faulted", "GroundFailure") == EvseState("Faulted", "GroundFailure")
    assert evse_state({1: "Available"}) == EvseState("Available")
    both = evse_state({1: "Available", 2: "Occupied"})
    assert both.status == "Occupied" and both.connectors == {1: "Available", 2: "Occupied"}
    assert evse_state({1: "Occupied", 2: "Faulted"}).status == "Faulted"


def b64(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("header", "result"),
    [
        (b64("CP-1:secret"), "ok"),
        ("basic " + b64("CP-1:secret")[6:], "ok"),
        (b64("CP-2:secret"), "wrong"),  # username must be the charger id
        (b64("CP-1:nope"), "wrong"),
        (b64("CP-1"), "wrong"),
        ("Basic %%%", "wrong"),
        ("Bearer x", "missing"),
        (None, "missing"),
    ],
)
def test_basic_auth(header: str | None, result: str) -> None:
    assert check_basic(header, "CP-1", "secret") == result


def test_security_profiles_and_client_certificates() -> None:
    assert check_basic(None, "CP-1", None) == "ok"
    assert (effective_profile(None, True), effective_profile(None, False)) == (1, 0)
    assert effective_profile(3, False) == 3
    cert = {"subject": ((("organizationName", "Acme"),), (("commonName", "CP-1"),))}
    assert check_client_certificate(cert, "CP-1") == "ok"
    assert check_client_certificate(cert, "CP-2") == "wrong"
    assert check_client_certificate(None, "CP-1") == "missing"


@pytest.mark.parametrize(
    ("path", "charger_id"),
    [
        ("/ocpp/CP-1", "CP-1"),
        ("/CP-1", "CP-1"),
        ("/ocpp/CP%207%7CB", "CP 7|B"),
        ("/CP%207%7CB", "CP 7|B"),
        ("/ocpp/CP-1/", "CP-1"),
        ("/ocpp/CP-1?x=1", "CP-1"),
        ("/", None),
        ("/ocpp/", None),
        ("/a/b/c", None),
    ],
)
def test_charger_id_from_path(path: str, charger_id: str | None) -> None:
    assert charger_id_from_path(path) == charger_id


RATING = ChargerRating(22_000, 3, 230.0, None, False)
V2G = ChargerRating(11_000, 3, 230.0, None, True)


def test_limit_plans() -> None:
    plan = plan_limit(7_000.0, None, None, RATING, "1.6")
    assert isinstance(plan, LimitPlan)
    assert (plan.unit, plan.limit, plan.evse) == ("A", 10.1, 0)  # 7000 / (3 x 230) = 10.14..
    assert plan_limit(None, 16.0, 2, RATING, "2.0.1") == LimitPlan(
        2, "W", 11_040.0, 11_040.0, 16.0, False
    )
    clamped = plan_limit(50_000.0, None, 1, RATING, "2.0.1")
    assert isinstance(clamped, LimitPlan) and clamped.clamped and clamped.power_w == 22_000
    watts = plan_limit(7_000.0, None, 1, ChargerRating(22_000, 1, 230.0, "W", False), "1.6")
    assert isinstance(watts, LimitPlan) and (watts.unit, watts.limit) == ("W", 7_000.0)


@pytest.mark.parametrize(
    ("version", "rating", "reason"),
    [
        ("1.6", V2G, "needs OCPP 2.1"),
        ("2.0.1", V2G, "needs OCPP 2.1"),
        ("2.1", RATING, "bidirectional: true"),
    ],
)
def test_negative_limits_need_a_bidirectional_21_charger(
    version: str, rating: ChargerRating, reason: str
) -> None:
    result = plan_limit(-5_000.0, None, 1, rating, version)
    assert isinstance(result, str) and reason in result


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
@pytest.mark.parametrize(("power", "evse", "ttl"), [(7_000.0, 0, None), (4_321.0, 1, 30.0)])
def test_profiles_match_the_schemas(
    version: str, power: float, evse: int, ttl: float | None
) -> None:
    plan = plan_limit(power, None, evse, RATING, version)
    assert isinstance(plan, LimitPlan)
    payload = set_profile(plan, 3, version, NOW, ttl)
    assert outgoing_violation(version, "SetChargingProfile", payload) is None
    assert outgoing_violation(version, "ClearChargingProfile", clear_profile(evse, version)) is None
    text = str(payload)
    if evse == 0:
        assert (
            "ChargePointMaxProfile" if version == "1.6" else "ChargingStationMaxProfile"
        ) in text
    else:
        assert "TxDefaultProfile" in text
    assert ("'duration'" in text) == (ttl is not None)


def test_discharge_profile_for_21() -> None:
    plan = plan_limit(-6_000.0, None, 1, V2G, "2.1")
    assert isinstance(plan, LimitPlan) and plan.limit == -6_000.0
    payload = set_profile(plan, 3, "2.1", NOW, None)
    assert outgoing_violation("2.1", "SetChargingProfile", payload) is None
    period = payload["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]
    assert period["operationMode"] == "CentralSetpoint"
    assert period["setpoint"] == -6_000.0 and period["dischargeLimit"] == -6_000.0
    assert payload["chargingProfile"]["chargingProfilePurpose"] == "TxDefaultProfile"


def test_one_decimal_for_16_limits() -> None:
    plan = plan_limit(None, 7.123456, 1, RATING, "1.6")
    assert isinstance(plan, LimitPlan) and plan.limit == 7.1
    payload = set_profile(plan, 3, "1.6", NOW, None)
    assert outgoing_violation("1.6", "SetChargingProfile", payload) is None
    payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = 7.12
    assert outgoing_violation("1.6", "SetChargingProfile", payload) is not None
