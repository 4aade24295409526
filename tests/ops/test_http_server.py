"""The HTTP listener on aiohttp: routes, errors, limits, binding, against a real socket."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from gateway.http.server import HttpServer
from tests.ops.helpers import request


def app_with(**routes: web.RouteDef) -> web.Application:
    app = web.Application(client_max_size=1024)
    app.add_routes(list(routes.values()))
    return app


async def hello(_: web.Request) -> web.Response:
    return web.Response(text="hi\n")


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    srv = HttpServer("127.0.0.1", 0, app_with(hello=web.get("/hello", hello)))
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def test_get_a_route_with_a_query_string(server: HttpServer) -> None:
    assert server.port
    status, headers, body = await request(
        server.port, b"GET /hello?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    assert (status, body) == (200, b"hi\n")
    assert headers["content-length"] == "3"
    assert headers["cache-control"] == "no-store"


async def test_keep_alive_serves_two_requests_on_one_connection(server: HttpServer) -> None:
    assert server.port
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        for _ in range(2):
            writer.write(b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 200")
            assert await asyncio.wait_for(reader.readexactly(3), 10) == b"hi\n"
    finally:
        writer.close()


async def test_head_has_headers_but_no_body(server: HttpServer) -> None:
    assert server.port
    status, headers, body = await request(
        server.port, b"HEAD /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    assert (status, headers["content-length"], body) == (200, "3", b"")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"GET /nope HTTP/1.1\r\nHost: a\r\n", 404),
        (b"POST /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n", 405),
        (b"garbage\r\n", 400),
        (b"GET /hello HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 20_000 + b"\r\n", 400),
    ],
)
async def test_bad_requests_get_an_error_status(
    server: HttpServer, raw: bytes, expected: int
) -> None:
    assert server.port
    status, headers, _ = await request(server.port, raw + b"Connection: close\r\n\r\n")
    assert status == expected
    assert headers.get("cache-control") == "no-store" or status == 400


async def test_a_body_over_the_limit_is_refused_with_413() -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    srv = HttpServer("127.0.0.1", 0, app_with(echo=web.post("/echo", echo)))
    await srv.start()
    try:
        assert srv.port
        body = b"x" * 5000
        head = f"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        assert (await request(srv.port, head.encode() + body))[0] == 413
        assert (
            await request(srv.port, b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        )[0] == 404
    finally:
        await srv.stop()


async def test_a_route_that_raises_answers_500_and_the_server_keeps_serving() -> None:
    async def boom(_: web.Request) -> web.Response:
        raise RuntimeError("bug")

    srv = HttpServer("127.0.0.1", 0, app_with(boom=web.get("/boom", boom)))
    await srv.start()
    try:
        assert srv.port
        close = b"Connection: close\r\n\r\n"
        assert (await request(srv.port, b"GET /boom HTTP/1.1\r\nHost: a\r\n" + close))[0] == 500
        assert (await request(srv.port, b"GET /x HTTP/1.1\r\nHost: a\r\n" + close))[0] == 404
    finally:
        await srv.stop()


async def test_port_in_use_is_an_oserror_that_names_the_port_and_the_key() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        srv = HttpServer("127.0.0.1", port)
        with pytest.raises(OSError, match=rf"127\.0\.0\.1:{port}.*http\.port"):
            await srv.start()


async def test_run_serves_until_stop() -> None:
    srv = HttpServer("127.0.0.1", 0, app_with(root=web.get("/", hello)))
    task = asyncio.create_task(srv.run())
    while srv.port is None:
        await asyncio.sleep(0.01)
    assert (await request(srv.port, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))[
        0
    ] == 200
    await srv.stop()
    await asyncio.wait_for(task, 5)
    with pytest.raises(OSError):
        await request(srv.port, b"GET / HTTP/1.1\r\n\r\n")
