"""Pure rules: timestamps, authorization, statuses, credentials, charger ids.

Charging profiles: test_profile_plan.py."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from drivers.ocpp.core.auth import check_basic, check_client_certificate, effective_profile
from drivers.ocpp.core.authorize import Decision, SiteTag, TagAuthorizer
from drivers.ocpp.core.status import evse_state, evse_state_v16
from drivers.ocpp.core.timestamps import event_time, parse_timestamp
from drivers.ocpp.server import charger_id_from_path
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
    auth = TagAuthorizer(["A"], issued=lambda token: token == "remote-1")
    assert auth.decide("x", "NoAuthorization", 0).status == "Accepted"
    assert auth.decide("x", "ISO14443", 0) == Decision("Invalid", "unknown_tag")
    assert auth.decide("a", "ISO14443", 0) == Decision("Accepted", "config_tag")
    assert auth.decide("REMOTE-1", "Central", 0) == Decision("Accepted", "issued_central_token")
    assert auth.decide("A", "Central", 0) == Decision("Invalid", "central_token_not_issued")


def test_site_tags_expire_and_carry_their_group() -> None:
    site = {"b": SiteTag("B", expires_at=100.0, group="fleet")}
    auth = TagAuthorizer(["A"], site_tags=lambda: site)
    assert auth.decide("b", None, 99.0) == Decision("Accepted", "site_tag", 100.0, "fleet")
    assert auth.decide("B", None, 100.0) == Decision("Expired", "expired", 100.0, "fleet")
    site.clear()
    assert auth.decide("B", None, 0).reason == "unknown_tag"


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
