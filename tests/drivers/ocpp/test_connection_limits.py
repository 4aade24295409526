"""Site-scale limits of the endpoint: max_connections (503 before the handshake, one log line
per interval), no compression unless configured, bounded buffers, accept() failures logged
once per interval."""

from __future__ import annotations

import asyncio
import errno
import resource
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
import structlog
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from drivers.ocpp.server import RESERVED_FDS, connection_bound
from gateway.accept_errors import install_accept_error_handler
from gateway.foundation.config import Config
from tests.drivers.ocpp.conftest import running_driver
from tests.drivers.ocpp.peers import charger


async def refused_503(port: int, cid: str) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"ws://127.0.0.1:{port}/ocpp/{cid}", subprotocols=["ocpp1.6"]):  # type: ignore[list-item]
            pass
    assert info.value.response.status_code == 503
    assert info.value.response.headers["Retry-After"] == "30"


async def test_one_connection_too_many_gets_503_before_the_handshake(
    config_factory: Callable[..., Config],
) -> None:
    config = config_factory(allow_unknown_chargers=True, max_connections=3)
    async with running_driver(config) as site:
        async with charger(site.port, "CP-0", "1.6") as first:
            await first.boot()
            async with AsyncExitStack() as stack:
                for i in (1, 2):
                    cp = await stack.enter_async_context(charger(site.port, f"CP-{i}", "2.0.1"))
                    assert (await cp.boot())["status"] == "Accepted"
                with structlog.testing.capture_logs() as logs:
                    for i in range(5):
                        await refused_503(site.port, f"EXTRA-{i}")
                refusals = [e for e in logs if e["event"] == "connections_refused"]
                # one line now; the other four are counted into the next line
                assert len(refusals) == 1 and refusals[0]["count"] == 1
                assert site.driver.server.refused.total == 5
                assert not any(e.get("log_level") == "error" for e in logs)
                assert set(site.driver.hub.sessions) == {"CP-0", "CP-1", "CP-2"}
        # everyone left: a new charger gets in
        async with asyncio.timeout(10):
            while site.driver.hub.sessions:
                await asyncio.sleep(0.02)
        async with charger(site.port, "CP-9", "2.0.1") as cp:
            assert (await cp.boot())["status"] == "Accepted"


def test_bound_leaves_descriptors_for_the_gateway() -> None:
    assert connection_bound(10_000, 65_536) == 10_000
    assert connection_bound(10_000, 1_024) == 1_024 - RESERVED_FDS
    assert connection_bound(10_000, resource.RLIM_INFINITY) == 10_000
    assert connection_bound(5, 100) == 1


async def test_compression_is_off_unless_configured(config_factory: Callable[..., Config]) -> None:
    for enabled, expected in ((False, None), (True, "permessage-deflate")):
        config = config_factory(allow_unknown_chargers=True, compression=enabled)
        # the client offers permessage-deflate, as the websockets library does by default
        async with (
            running_driver(config) as site,
            connect(f"ws://127.0.0.1:{site.port}/ocpp/CP-1", subprotocols=["ocpp1.6"]) as ws,  # type: ignore[list-item]
        ):
            assert ws.response is not None
            agreed = ws.response.headers.get("Sec-WebSocket-Extensions")
            if expected is None:
                assert agreed is None
            else:
                assert agreed is not None and agreed.startswith(expected)


async def test_per_connection_buffers_are_bounded(config_factory: Callable[..., Config]) -> None:
    config = config_factory(allow_unknown_chargers=True)
    async with running_driver(config) as site, charger(site.port, "CP-1", "1.6") as cp:
        await cp.boot()
        session = site.driver.hub.sessions["CP-1"]
        ws: Any = session.ws
        assert ws.recv_messages.high is not None and ws.recv_messages.high <= 4
        assert ws.transport.get_write_buffer_limits()[1] <= 16 * 1024
        assert ws.protocol.max_message_size == config.ocpp.max_frame_bytes


async def test_accept_failures_are_logged_once_per_interval() -> None:
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    try:
        throttled = install_accept_error_handler(loop, interval_s=60)
        with structlog.testing.capture_logs() as logs:
            for _ in range(1000):  # what asyncio reports for each failed accept()
                loop.call_exception_handler(
                    {
                        "message": "socket.accept() out of system resource",
                        "exception": OSError(errno.EMFILE, "Too many open files"),
                    }
                )
        lines = [e for e in logs if e["event"] == "accept_failed"]
        assert len(lines) == 1 and lines[0]["errno"] == errno.EMFILE
        assert throttled.total == 1000
        with structlog.testing.capture_logs() as logs:
            loop.call_exception_handler({"message": "something else"})
        assert not any(e["event"] == "accept_failed" for e in logs)
    finally:
        loop.set_exception_handler(previous)
