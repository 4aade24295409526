"""The gateway's HTTP listener on aiohttp: health, metrics and (when enabled) the web page.

aiohttp does the HTTP/1.1 parsing, keep-alive, HEAD and size limits; this module owns the
listener's life (bind before READY with a clear error, stop within a bounded time) and what
every response shares: `Cache-Control: no-store` (live values must never come from a cache)
and a plain-text error for a handler that fails, logged once with its path.

Routes are added to `app` before `start` (aiohttp freezes the router when the listener
starts); features that need the gateway's HTTP port add theirs there.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from http import HTTPStatus

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["MAX_BODY_BYTES", "HttpServer", "plain_error"]

log = structlog.get_logger("gateway.http")

MAX_BODY_BYTES = 64 * 1024
"""Request bodies beyond this are refused with 413 before a handler reads them."""

_KEEPALIVE_S = 15.0
_SHUTDOWN_S = 2.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def plain_error(status: int, text: str | None = None) -> web.Response:
    """A short text/plain answer, as for every error of this listener."""
    phrase = HTTPStatus(status).phrase
    return web.Response(status=status, text=f"{text or phrase}\n", content_type="text/plain")


@web.middleware
async def _common_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.text is None:
            exc.text = f"{exc.reason}\n"
        exc.headers.setdefault("Cache-Control", "no-store")
        raise
    except Exception:
        log.exception("http_handler_failed", path=request.path, method=request.method)
        if request.writer.output_size > 0:
            raise  # a streamed response already started: aiohttp closes the connection
        response = plain_error(500)
    if not response.prepared:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


class _ProtocolLog:
    """aiohttp's protocol logger: a malformed request is one warning line, not a traceback."""

    def exception(self, message: str, *args: object, exc_info: object = None, **_: object) -> None:
        peer = str(args[0]) if args else None
        if isinstance(exc_info, HttpProcessingError):
            log.warning("http_bad_request", peer=peer, error=exc_info.message, status=exc_info.code)
        else:
            log.error("http_protocol_error", message=message, exc_info=exc_info or True)

    def debug(self, *args: object, **kwargs: object) -> None:
        pass

    def warning(self, message: str, *args: object, **_: object) -> None:
        log.warning("http_protocol_warning", message=message % args if args else message)


class HttpServer:
    """Serves `app` on host:port; `start` binds (OSError with a clear message on failure)."""

    def __init__(self, host: str, port: int, app: web.Application | None = None) -> None:
        self._host = host
        self._requested_port = port
        self.app = app or web.Application(client_max_size=MAX_BODY_BYTES)
        self.app.middlewares.append(_common_headers)
        self._runner: web.AppRunner | None = None
        self._stopped = asyncio.Event()
        self.port: int | None = None
        """The bound port (differs from the configured one when that is 0)."""

    @property
    def host(self) -> str:
        return self._host

    @property
    def url(self) -> str:
        """Base URL to reach the server from this machine (a wildcard host means loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self._host, self._host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    async def start(self) -> None:
        runner = web.AppRunner(
            self.app,
            access_log=None,  # one line per request would drown the device logs
            logger=_ProtocolLog(),
            keepalive_timeout=_KEEPALIVE_S,
            shutdown_timeout=_SHUTDOWN_S,
            handle_signals=False,
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            error = OSError(
                f"http: cannot listen on {self._host}:{self._requested_port} ({reason}); "
                "change http.port or set http.enabled: false"
            )
            error.errno = exc.errno
            raise error from exc
        self._runner = runner
        server = site._server  # aiohttp keeps the asyncio.Server here; no public accessor
        sockets = getattr(server, "sockets", None) or ()
        self.port = int(sockets[0].getsockname()[1]) if sockets else self._requested_port
        self._stopped.clear()
        paths = sorted({r.resource.canonical for r in self.app.router.routes() if r.resource})
        log.info("http_listening", host=self._host, port=self.port, routes=paths)

    async def run(self) -> None:
        """Supervisor entry: serve until `stop` (connections are handled from `start` on)."""
        if self._runner is None:
            await self.start()
        await self._stopped.wait()

    async def stop(self) -> None:
        self._stopped.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
