"""Charger identity at the door (issue finding 11, OCPP part): a second connection with a
connected charger's id cannot take over its session without credentials, ids with control
characters are refused, empty passwords never pass the config, and weak credentials are
warned about."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed

from gateway.config import ConfigError, parse_config
from gateway.foundation.charger_credentials import credential_warnings
from gateway.foundation.config import Config, OcppConfig
from gateway.foundation.model import CommandStatus
from gateway.status import render_plain
from tests.drivers.ocpp.conftest import Site, running_driver
from tests.drivers.ocpp.hostile import raw_charger
from tests.drivers.ocpp.peers import charger
from tests.drivers.ocpp.test_endpoint import refused_status

START = {"connectorId": 1, "idTag": "TAG-1", "meterStart": 0, "timestamp": "2024-05-01T10:00:00Z"}


async def test_a_live_charger_without_credentials_cannot_be_taken_over(site: Site) -> None:
    async with charger(site.port, "CP-16") as owner:
        tx = (await owner.raw("StartTransaction", START))["transactionId"]
        status = await refused_status(site.port, "/ocpp/CP-16", subprotocols=["ocpp1.6"])
        assert status == 409
        # The owner keeps its session: commands reach it, its transaction is untouched.
        result = await site.command("CP-16", "unlock", evse=1)
        assert result.status is CommandStatus.ACCEPTED
        await owner.wait_call("UnlockConnector")
        assert [t.transaction_id for t in site.driver.store.open_for("CP-16")] == [str(tx)]


async def test_a_dead_connection_without_credentials_is_replaced(site: Site) -> None:
    async with raw_charger(site.port, "CP-16") as dead:
        await site.connected("CP-16")
        old = site.driver.hub.sessions["CP-16"]
        dead.ws.transport.pause_reading()  # a half-open connection: pings go unanswered
        async with charger(site.port, "CP-16") as new:
            assert old.closed.is_set()
            assert site.driver.hub.sessions["CP-16"] is not old
            assert (await new.boot())["status"] == "Accepted"


async def test_unknown_charger_with_control_characters_is_refused(
    config_factory: Callable[..., Config],
) -> None:
    async with running_driver(config_factory(allow_unknown_chargers=True)) as site:
        for path in ("/ocpp/EVIL%01", "/ocpp/EVIL%0A", "/ocpp/%7F", "/ocpp/%FF%FE", "/ocpp/%20X"):
            assert await refused_status(site.port, path, subprotocols=["ocpp1.6"]) == 404, path
        async with charger(site.port, "NEW-1") as fine:
            assert (await fine.boot())["status"] == "Accepted"
    assert "EVIL\x01" not in site.driver.hub.sessions


@pytest.mark.parametrize(
    "charger_yaml",
    ['{id: CP-1, password: ""}', "{id: CP-1, password: !env PB_TEST_EMPTY}", '{id: "EVIL\\x01"}'],
)
def test_config_refuses_empty_passwords_and_control_characters(
    charger_yaml: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PB_TEST_EMPTY", "")
    text = f"site: {{id: s}}\nocpp:\n  chargers:\n    - {charger_yaml}\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert "ocpp.chargers" in str(info.value)


def test_weak_credentials_are_warned_about() -> None:
    ocpp = OcppConfig.model_validate(
        {
            "host": "0.0.0.0",
            "allow_unknown_chargers": True,
            "chargers": [
                {"id": "open"},
                {"id": "short", "password": "12345678"},
                {"id": "good", "password": "x" * 16},
            ],
        }
    )
    warnings = credential_warnings(ocpp)
    assert len(warnings) == 3
    assert any("charger open has no password" in w for w in warnings)
    assert any("short: password shorter than 16" in w for w in warnings)
    assert any("allow_unknown_chargers" in w for w in warnings)
    local = OcppConfig.model_validate({"host": "127.0.0.1", "chargers": [{"id": "open"}]})
    assert credential_warnings(local) == []
    doc = {"status": "ok", "warnings": warnings, "problems": []}
    assert "warning: charger open has no password" in render_plain(doc)


async def test_a_refused_newcomer_does_not_disturb_the_owner(site: Site) -> None:
    async with charger(site.port, "CP-16") as owner:
        await owner.boot()
        for _ in range(3):
            with pytest.raises((ConnectionClosed, Exception)):
                async with raw_charger(site.port, "CP-16"):
                    pass
        assert (await owner.raw("Heartbeat", {}))["currentTime"]
        await asyncio.sleep(0)


def test_healthz_and_status_carry_the_warnings(make_config: Callable[..., Config]) -> None:
    from gateway.app import Gateway

    config = make_config(ocpp={"enabled": True, "host": "0.0.0.0", "chargers": [{"id": "open"}]})
    status, document = Gateway(config).health.document()  # built from the config, not started
    assert any("charger open has no password" in w for w in document["warnings"])
    assert "warning: charger open has no password" in render_plain(document)
    assert status in (200, 503)
