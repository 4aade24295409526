"""The websocket endpoint: paths, sub-protocols, security profiles 1-3, replaced sessions."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from drivers.ocpp.driver import OcppDriver
from gateway.foundation.config import Config
from gateway.foundation.metrics import REGISTRY
from gateway.foundation.model import ChargerState, CommandStatus
from tests.drivers.ocpp.certs import Pki, make_pki
from tests.drivers.ocpp.conftest import Site, running_driver
from tests.drivers.ocpp.peers import basic, charger


async def refused_status(port: int, path: str, **kwargs: object) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"ws://127.0.0.1:{port}{path}", open_timeout=5, **kwargs):  # type: ignore[arg-type]
            pass
    return info.value.response.status_code


@pytest.mark.parametrize("path", ["/ocpp/CP-16", "/CP-16", "/ocpp/CP%207%7CB", "/CP%207%7CB"])
async def test_both_paths_and_percent_encoded_ids(site: Site, path: str) -> None:
    cid = "CP-16" if "CP-16" in path else "CP 7|B"
    async with charger(site.port, cid, path=path) as cp:
        assert (await cp.boot())["status"] == "Accepted"
        assert cid in site.driver.hub.sessions


async def test_unknown_chargers_are_refused(site: Site) -> None:
    assert await refused_status(site.port, "/ocpp/CP-99", subprotocols=["ocpp1.6"]) == 404
    assert await refused_status(site.port, "/", subprotocols=["ocpp1.6"]) == 404
    assert await refused_status(site.port, "/a/b", subprotocols=["ocpp1.6"]) == 404


async def test_unknown_chargers_admitted_when_allowed(
    config_factory: Callable[..., Config],
) -> None:
    config = config_factory(allow_unknown_chargers=True)
    async with running_driver(config) as site, charger(site.port, "NEW-1", "2.0.1") as cp:
        assert (await cp.boot())["status"] == "Accepted"
        result = await site.command("NEW-1", "reset", type="soft")
        assert result.status is CommandStatus.ACCEPTED


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (["ocpp1.6"], "ocpp1.6"),
        (["ocpp1.6", "ocpp2.0.1"], "ocpp2.0.1"),
        (["ocpp2.0.1", "ocpp2.1", "ocpp1.6"], "ocpp2.1"),
        (["ocpp1.5", "ocpp2.0.1"], "ocpp2.0.1"),
    ],
)
async def test_newest_common_subprotocol_wins(site: Site, offered: list[str], chosen: str) -> None:
    async with connect(f"ws://127.0.0.1:{site.port}/ocpp/CP-16", subprotocols=offered) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol == chosen
        await site.connected("CP-16")
        assert site.driver.hub.sessions["CP-16"].version == chosen.removeprefix("ocpp")


async def test_no_subprotocol_is_treated_as_16(site: Site) -> None:
    async with charger(site.port, "CP-16", "1.6", subprotocols=[]) as cp:
        assert cp.ws.subprotocol is None
        assert (await cp.boot())["status"] == "Accepted"
        assert site.driver.hub.sessions["CP-16"].version == "1.6"


async def test_only_unsupported_subprotocols_are_refused(site: Site) -> None:
    status = await refused_status(site.port, "/ocpp/CP-16", subprotocols=["ocpp1.5", "ocpp2.0"])
    assert status == 400


async def test_reconnect_replaces_the_old_session(config_factory: Callable[..., Config]) -> None:
    secret = "a-long-password-16+"
    config = config_factory(chargers=[{"id": "CP-16", "password": secret}])
    auth = basic("CP-16", secret)
    async with running_driver(config) as site, charger(site.port, "CP-16", headers=auth) as first:
        await first.boot()
        async with charger(site.port, "CP-16", headers=auth) as second:
            # The old connection was closed before the new session started.
            await asyncio.wait_for(first.ws.wait_closed(), 5)
            assert site.driver.hub.sessions["CP-16"].ws is not None
            result = await site.command("CP-16", "unlock", evse=1)
            assert result.status is CommandStatus.ACCEPTED
            await second.wait_call("UnlockConnector")
            await asyncio.sleep(0.05)
            state = site.of(ChargerState, charger_id="CP-16")[-1]
            assert state.connected  # the old session's end did not mark it offline
            assert REGISTRY.get_sample_value("pilebridge_ocpp_chargers_connected") == 1


async def test_ping_settings_per_charger(config_factory: Callable[..., Config]) -> None:
    chargers = [
        {"id": "quiet", "ping_interval_s": 0},
        {"id": "normal"},
        {"id": "fast", "ping_interval_s": 5, "ping_timeout_s": 2},
    ]
    async with running_driver(config_factory(chargers=chargers, ping_interval_s=30)) as site:
        expected = {"quiet": (None, 60.0), "normal": (30.0, 60.0), "fast": (5.0, 2.0)}
        for cid, (interval, timeout) in expected.items():
            async with charger(site.port, cid):
                await site.connected(cid)
                ws = site.driver.hub.sessions[cid].ws
                assert (ws.ping_interval, ws.ping_timeout) == (interval, timeout)


async def test_security_profile_1_basic_auth(config_factory: Callable[..., Config]) -> None:
    chargers = [{"id": "CP-1", "password": "s3cret-password-16"}]
    async with running_driver(config_factory(chargers=chargers)) as site:
        path = "/ocpp/CP-1"
        assert await refused_status(site.port, path, subprotocols=["ocpp1.6"]) == 401
        wrong = basic("CP-1", "guess")
        assert (
            await refused_status(
                site.port, path, subprotocols=["ocpp1.6"], additional_headers=wrong
            )
            == 401
        )
        other_user = basic("CP-2", "s3cret-password-16")
        assert (
            await refused_status(
                site.port, path, subprotocols=["ocpp1.6"], additional_headers=other_user
            )
            == 401
        )
        async with charger(site.port, "CP-1", headers=basic("CP-1", "s3cret-password-16")) as cp:
            assert (await cp.boot())["status"] == "Accepted"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), {"cp3": "CP-3", "impostor": "CP-X"})


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA the gateway does not trust, issuing a certificate with the right CN."""
    return make_pki(tmp_path_factory.mktemp("other-pki"), {"cp3": "CP-3"})


def client_context(pki: Pki, name: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca))
    if name is not None:
        cert, key = pki.client(name)
        context.load_cert_chain(cert, key)
    return context


async def test_security_profiles_2_and_3_over_tls(
    config_factory: Callable[..., Config], pki: Pki, other_pki: Pki
) -> None:
    config = config_factory(
        tls={"cert": str(pki.server_cert), "key": str(pki.server_key), "ca": str(pki.ca)},
        chargers=[
            {"id": "CP-2", "password": "profile-two-password", "security_profile": 2},
            {"id": "CP-3", "security_profile": 3},
        ],
    )
    async with running_driver(config) as site:
        ok = basic("CP-2", "profile-two-password")
        async with charger(site.port, "CP-2", headers=ok, ssl_context=client_context(pki)) as cp:
            assert (await cp.boot())["status"] == "Accepted"
        async with charger(
            site.port, "CP-3", "2.0.1", ssl_context=client_context(pki, "cp3")
        ) as cp:
            assert (await cp.boot())["status"] == "Accepted"
        for context in (client_context(pki), client_context(pki, "impostor")):
            with pytest.raises(InvalidStatus) as info:
                async with charger(site.port, "CP-3", "2.0.1", ssl_context=context):
                    pass
            assert info.value.response.status_code == 401
        untrusted = client_context(pki)
        untrusted.load_cert_chain(*other_pki.client("cp3"))
        with pytest.raises((ssl.SSLError, OSError, InvalidHandshake, ConnectionClosed)) as failed:
            async with charger(site.port, "CP-3", "2.0.1", ssl_context=untrusted) as cp:
                await cp.boot()
        assert not isinstance(failed.value, InvalidStatus)  # refused by TLS, before HTTP


def test_profiles_2_and_3_need_tls_in_the_config(config_factory: Callable[..., Config]) -> None:
    with pytest.raises(ValueError, match=r"needs ocpp\.tls"):
        config_factory(chargers=[{"id": "A", "password": "x", "security_profile": 2}])
    with pytest.raises(ValueError, match="needs a password"):
        config_factory(chargers=[{"id": "A", "security_profile": 1}])


async def test_a_port_in_use_fails_start_with_a_clear_message(
    config_factory: Callable[..., Config], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = config_factory(port=port)
        async with running_driver(config_factory()) as other:
            context = other.driver._context
            driver = OcppDriver(
                type(context)(
                    config,
                    context.recorder,
                    context.router,
                    context.leases,
                    context.clock,
                    tmp_path,
                )
            )
            with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
                await driver.start()


async def test_a_dead_old_connection_does_not_hold_up_the_new_one(site: Site) -> None:
    async with charger(site.port, "CP-16") as first:
        await first.boot()
        first.ws.transport.pause_reading()  # a dead peer: never completes the closing handshake
        try:
            async with charger(site.port, "CP-16") as second:
                async with asyncio.timeout(5):  # well below the 10 s closing handshake timeout
                    assert (await second.boot())["status"] == "Accepted"
        finally:
            first.ws.transport.abort()
