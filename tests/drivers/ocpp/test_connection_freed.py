"""A charger's closed connection and session are freed by reference counting alone, and an
open connection keeps no handshake headers.

After a reconnect storm, connections left in reference cycles wait for a full collection
(about a second at 5,000 chargers, rare under the gateway's thresholds) and hold the
process's memory up. Here the cyclic collector is off: what is not freed by reference
counting stays, and the test sees it.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway.foundation.config import Config
from gateway.foundation.model import CommandStatus
from tests.drivers.ocpp.conftest import running_driver
from tests.drivers.ocpp.peers import charger

VERSIONS = ("1.6", "2.0.1")


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def freed(refs: list[weakref.ref[Any]]) -> bool:
    """True once every object is gone (callbacks run on the loop; give them turns)."""
    for _ in range(200):
        if all(r() is None for r in refs):
            return True
        await asyncio.sleep(0.01)
    return False


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("ending", ["cut", "closed"])
async def test_a_closed_connection_is_freed_without_the_cyclic_collector(
    config_factory: Callable[..., Config], no_cyclic_gc: None, version: str, ending: str
) -> None:
    cid = f"CP-{version}"
    async with running_driver(config_factory(allow_unknown_chargers=True)) as site:
        async with charger(site.port, cid, version) as cp:
            await cp.boot()
            await site.connected(cid)
            # a command too: the session's command worker and its futures
            result = await site.command(cid, "limit", power_w=7000)
            assert result.status is CommandStatus.ACCEPTED, result
            session: Any = site.driver.hub.sessions[cid]
            refs = [weakref.ref(session), weakref.ref(session.ws), weakref.ref(session.ws.protocol)]
            refs.append(weakref.ref(session.ws.transport))
            del session
            if ending == "cut":  # a network outage: no closing handshake
                cp.ws.transport.abort()
            else:
                await cp.ws.close()
            async with asyncio.timeout(5):
                while cid in site.driver.hub.sessions:
                    await asyncio.sleep(0.01)
        assert await freed(refs), [type(r()).__name__ for r in refs if r() is not None]


async def test_an_open_connection_keeps_no_handshake_headers(
    config_factory: Callable[..., Config],
) -> None:
    async with (
        running_driver(config_factory(allow_unknown_chargers=True)) as site,
        charger(site.port, "CP-7", "2.0.1") as cp,
    ):
        assert (await cp.boot())["status"] == "Accepted"
        ws: Any = site.driver.hub.sessions["CP-7"].ws
        assert ws.request.path == "/ocpp/CP-7"
        assert not ws.request.headers
        assert ws.response is None
        assert ws.subprotocol == "ocpp2.0.1"
