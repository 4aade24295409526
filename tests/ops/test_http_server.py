"""The minimal HTTP server: routes, errors, binding, against a real socket on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from gateway.http.server import HttpServer, Response


async def request(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), headers, body


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    routes = {"/hello": lambda: Response(200, "text/plain", b"hi\n")}
    srv = HttpServer("127.0.0.1", 0, routes)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def test_get_a_route_with_a_query_string(server: HttpServer) -> None:
    assert server.port
    status, headers, body = await request(
        server.port, b"GET /hello?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"
    )
    assert (status, body) == (200, b"hi\n")
    assert headers["Content-Length"] == "3"
    assert headers["Connection"] == "close"


async def test_head_has_headers_but_no_body(server: HttpServer) -> None:
    assert server.port
    status, headers, body = await request(server.port, b"HEAD /hello HTTP/1.1\r\n\r\n")
    assert (status, headers["Content-Length"], body) == (200, "3", b"")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"GET /nope HTTP/1.1\r\n\r\n", 404),
        (b"POST /hello HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405),
        (b"garbage\r\n\r\n", 400),
        (b"GET /hello HTTP/1.1\r\nX: " + b"a" * 20_000 + b"\r\n\r\n", 431),
    ],
)
async def test_bad_requests_get_an_error_status(
    server: HttpServer, raw: bytes, expected: int
) -> None:
    assert server.port
    status, _, _ = await request(server.port, raw)
    assert status == expected


async def test_a_route_that_raises_answers_500_and_the_server_keeps_serving() -> None:
    def boom() -> Response:
        raise RuntimeError("bug")

    srv = HttpServer("127.0.0.1", 0, {"/boom": boom})
    await srv.start()
    try:
        assert srv.port
        assert (await request(srv.port, b"GET /boom HTTP/1.1\r\n\r\n"))[0] == 500
        assert (await request(srv.port, b"GET /x HTTP/1.1\r\n\r\n"))[0] == 404
    finally:
        await srv.stop()


async def test_port_in_use_is_an_oserror_that_names_the_port_and_the_key() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        srv = HttpServer("127.0.0.1", port, {})
        with pytest.raises(OSError, match=rf"127\.0\.0\.1:{port}.*http\.port"):
            await srv.start()


async def test_run_serves_until_stop() -> None:
    srv = HttpServer("127.0.0.1", 0, {"/": lambda: Response(200, "text/plain", b"")})
    task = asyncio.create_task(srv.run())
    while srv.port is None:
        await asyncio.sleep(0.01)
    assert (await request(srv.port, b"GET / HTTP/1.1\r\n\r\n"))[0] == 200
    await srv.stop()
    await asyncio.wait_for(task, 5)
    with pytest.raises(OSError):
        await request(srv.port, b"GET / HTTP/1.1\r\n\r\n")
