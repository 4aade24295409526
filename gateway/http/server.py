"""A minimal asyncio HTTP/1.1 server for a handful of GET routes (health and metrics).

Two read-only routes do not justify a web framework on an edge box: the request line and
headers are read (bounded in size and time), the path is looked up, and the response is
written with `Connection: close` (RFC 9112 §9.6), so there is no keep-alive state to manage.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

import structlog

__all__ = ["HttpServer", "Response", "Route"]

log = structlog.get_logger("gateway.http")

_MAX_HEADER_BYTES = 16 * 1024
_READ_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    content_type: str
    body: bytes


Route = Callable[[], Response]
"""Builds the response for one path; called on the event loop, so it must be quick."""


class HttpServer:
    """Serves `routes` on host:port; `start` binds (OSError with a clear message on failure)."""

    def __init__(self, host: str, port: int, routes: dict[str, Route]) -> None:
        self._host = host
        self._requested_port = port
        self._routes = routes
        self._server: asyncio.Server | None = None
        self._stopped = asyncio.Event()
        self.port: int | None = None
        """The bound port (differs from the configured one when that is 0)."""

    @property
    def url(self) -> str:
        """Base URL to reach the server from this machine (a wildcard host means loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self._host, self._host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(
                self._handle,
                self._host,
                self._requested_port,
                reuse_address=True,
                limit=_MAX_HEADER_BYTES,
            )
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            error = OSError(
                f"http: cannot listen on {self._host}:{self._requested_port} ({reason}); "
                "change http.port or set http.enabled: false"
            )
            error.errno = exc.errno
            raise error from exc
        self.port = self._server.sockets[0].getsockname()[1]
        self._stopped.clear()
        log.info("http_listening", host=self._host, port=self.port, routes=sorted(self._routes))

    async def run(self) -> None:
        """Supervisor entry: serve until `stop` (connections are handled from `start` on)."""
        if self._server is None:
            await self.start()
        await self._stopped.wait()

    async def stop(self) -> None:
        self._stopped.set()
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_READ_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
            response, method = self._respond(head)
            await self._write(writer, response, head_only=method == "HEAD")
        except asyncio.LimitOverrunError:
            await self._write(
                writer, _plain(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE), head_only=False
            )
        except (asyncio.IncompleteReadError, TimeoutError):
            await self._write(writer, _plain(HTTPStatus.BAD_REQUEST), head_only=False)
        except ConnectionError:
            pass
        except Exception:
            log.exception("http_handler_failed")
            await self._write(writer, _plain(HTTPStatus.INTERNAL_SERVER_ERROR), head_only=False)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _respond(self, head: bytes) -> tuple[Response, str]:
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            return _plain(HTTPStatus.BAD_REQUEST), "GET"
        method, target, _ = parts
        if method not in ("GET", "HEAD"):
            return _plain(HTTPStatus.METHOD_NOT_ALLOWED), method
        route = self._routes.get(target.split("?", 1)[0])
        if route is None:
            return _plain(HTTPStatus.NOT_FOUND), method
        return route(), method

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, response: Response, *, head_only: bool) -> None:
        reason = HTTPStatus(response.status).phrase
        headers = (
            f"HTTP/1.1 {response.status} {reason}\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Content-Length: {len(response.body)}\r\n"
            "Cache-Control: no-store\r\n"
            "Connection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError):
            writer.write(headers.encode("latin-1") + (b"" if head_only else response.body))
            await writer.drain()


def _plain(status: HTTPStatus) -> Response:
    return Response(status.value, "text/plain; charset=utf-8", f"{status.phrase}\n".encode())
