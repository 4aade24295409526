"""The OCPP websocket endpoint: `/ocpp/{id}` and `/{id}`, sub-protocol choice, authentication.

Refusals happen during the HTTP upgrade, before any OCPP traffic: an unknown id gets 404
(unless `allow_unknown_chargers`), missing or wrong credentials 401 (OCPP 1.6 Security
Whitepaper §2.4, 2.0.1 A00.FR.204). The sub-protocol is the newest both sides offer
(2.0.1 Part 4 §3.1.2); a charger offering none is treated as 1.6 (many 1.6 chargers in the
field send no `Sec-WebSocket-Protocol`) and logged; one offering only unknown versions is
refused with 400.

The endpoint holds at most `ocpp.max_connections` connections (lowered to what the open-file
limit allows): one more is answered 503 during the upgrade, before any websocket state is
built, and refusals are logged once per interval with their count.
"""

from __future__ import annotations

import http
import os
import resource
import ssl
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import unquote, urlsplit

import structlog
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import NegotiationError
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from drivers.ocpp.core.auth import check_basic, check_client_certificate, effective_profile
from drivers.ocpp.hub import Hub
from drivers.ocpp.takeover import admit_duplicate
from drivers.ocpp.ws_cycles import drop_handshake_headers, free_when_lost
from drivers.ocpp.ws_fast import FastConnection
from gateway.foundation.model.versions import OcppVersion
from gateway.foundation.throttled_log import ThrottledLog

__all__ = ["SUBPROTOCOLS", "OcppServer", "charger_id_from_path", "connection_bound"]

log = structlog.get_logger("drivers.ocpp.server")

SUBPROTOCOLS: dict[str, OcppVersion] = {
    v.subprotocol: v for v in (OcppVersion.V21, OcppVersion.V201, OcppVersion.V16)
}
"""Offered sub-protocol -> OCPP version, newest first (the order of preference)."""

SessionHandler = Callable[[ServerConnection, str, OcppVersion], Awaitable[None]]

RESERVED_FDS = 256
"""Descriptors kept for the gateway itself: broker, databases, Modbus devices, HTTP, logs."""
MAX_QUEUE = 4
"""Incoming frames buffered per charger (a charger waits for each answer, so one is usual)."""
WRITE_LIMIT = 16 * 1024
"""Bytes buffered towards a charger before sending waits for it to read."""


def connection_bound(configured: int, open_file_limit: int) -> int:
    """How many chargers may be connected: `configured`, unless the descriptors run out first."""
    if open_file_limit == resource.RLIM_INFINITY or open_file_limit < 0:
        return configured
    return max(1, min(configured, open_file_limit - RESERVED_FDS))


def charger_id_from_path(path: str) -> str | None:
    """The percent-decoded charger id of `/ocpp/{id}` or `/{id}`, or None."""
    raw = urlsplit(path).path
    rest = raw[len("/ocpp/") :] if raw.startswith("/ocpp/") else raw[1:]
    rest = rest.rstrip("/")
    if not rest or "/" in rest:
        return None
    charger_id = unquote(rest, errors="strict") if "%" in rest else rest
    valid = charger_id and len(charger_id) <= 128 and charger_id.isprintable()
    return charger_id if valid and charger_id == charger_id.strip() else None


class OcppServer:
    def __init__(self, hub: Hub, on_session: SessionHandler) -> None:
        self._hub = hub
        self._on_session = on_session
        self._server: Server | None = None
        self.max_connections = hub.config.max_connections
        self.refused = ThrottledLog(log, "connections_refused")

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        cfg = self._hub.config
        soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        self.max_connections = connection_bound(cfg.max_connections, soft_limit)
        if self.max_connections < cfg.max_connections:
            log.warning(
                "max_connections_lowered",
                configured=cfg.max_connections,
                effective=self.max_connections,
                open_file_limit=soft_limit,
                hint="raise LimitNOFILE (docs/install.md) or lower ocpp.max_connections",
            )
        try:
            self._server = await serve(
                self._handler,
                cfg.host,
                cfg.port,
                process_request=self._process_request,
                select_subprotocol=self._select_subprotocol,
                subprotocols=[Subprotocol(p) for p in SUBPROTOCOLS],
                ping_interval=cfg.ping_interval_s or None,
                ping_timeout=cfg.ping_timeout_s,
                ssl=self._ssl_context(),
                max_size=cfg.max_frame_bytes,
                max_queue=MAX_QUEUE,
                write_limit=WRITE_LIMIT,
                compression="deflate" if cfg.compression else None,
                server_header="PileBridge",
                create_connection=FastConnection,
            )
        except OSError as exc:
            reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            error = OSError(f"cannot listen on {cfg.host}:{cfg.port}: {reason}")
            error.errno = exc.errno
            raise error from exc
        log.info(
            "ocpp_listening",
            host=cfg.host,
            port=self.port,
            tls=cfg.tls is not None,
            max_connections=self.max_connections,
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close(close_connections=True)
            await self._server.wait_closed()

    def _ssl_context(self) -> ssl.SSLContext | None:
        tls = self._hub.config.tls
        if tls is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2  # 2.0.1 A00.FR.309
        context.load_cert_chain(tls.cert, tls.key)
        if tls.ca is not None:
            context.load_verify_locations(tls.ca)
            context.verify_mode = ssl.CERT_OPTIONAL  # required per charger (profile 3)
        return context

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        assert self._server is not None
        free_when_lost(connection)
        # Every accepted TCP connection (open, in its handshake, or closing) holds a
        # descriptor and has a handler task; this one included.
        if len(self._server.handler_tasks) > self.max_connections:
            self.refused.note(reason="max_connections", max_connections=self.max_connections)
            response = connection.respond(
                http.HTTPStatus.SERVICE_UNAVAILABLE, "Too many chargers connected\n"
            )
            response.headers["Retry-After"] = "30"
            return response
        try:
            charger_id = charger_id_from_path(request.path)
        except UnicodeDecodeError:
            charger_id = None
        bound = log.bind(charger_id=charger_id, path=repr(request.path[:200]))
        if charger_id is None:
            # Control characters would reach logs and MQTT topics (/ocpp/EVIL%01).
            bound.warning("connection_refused", reason="no valid charger id in path")
            return connection.respond(http.HTTPStatus.NOT_FOUND, "No charger id in path\n")
        cfg = self._hub.chargers.get(charger_id)
        if cfg is None:
            if not self._hub.config.allow_unknown_chargers:
                bound.warning("connection_refused", reason="unknown charger")
                return connection.respond(http.HTTPStatus.NOT_FOUND, "Unknown charger\n")
            return await self._duplicate(connection, charger_id, authenticated=False)
        password = cfg.password.get_secret_value() if cfg.password is not None else None
        profile = effective_profile(cfg.security_profile, password is not None)
        if profile in (1, 2):
            outcome = check_basic(request.headers.get("Authorization"), charger_id, password)
        elif profile == 3:
            peercert = connection.transport.get_extra_info("peercert")
            outcome = check_client_certificate(peercert, charger_id)
        else:
            outcome = "ok"
        if profile >= 2 and connection.transport.get_extra_info("sslcontext") is None:
            outcome = "wrong"
        if outcome != "ok":
            bound.warning("connection_refused", reason=f"credentials {outcome}", profile=profile)
            response = connection.respond(http.HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
            if profile in (1, 2):
                response.headers["WWW-Authenticate"] = 'Basic realm="OCPP", charset="UTF-8"'
            return response
        if cfg.ping_interval_s is not None:
            connection.ping_interval = cfg.ping_interval_s or None
        if cfg.ping_timeout_s is not None:
            connection.ping_timeout = cfg.ping_timeout_s
        return await self._duplicate(connection, charger_id, authenticated=profile > 0)

    async def _duplicate(
        self, connection: ServerConnection, charger_id: str, *, authenticated: bool
    ) -> Response | None:
        """Refuse (409) a second connection with a live charger's id unless it authenticated."""
        existing = self._hub.sessions.get(charger_id)
        if existing is None or existing.closed.is_set():
            return None
        if await admit_duplicate(existing, authenticated=authenticated):
            return None
        log.warning(
            "connection_refused",
            charger_id=charger_id,
            reason="charger already connected and answering (no credentials to replace it)",
        )
        return connection.respond(http.HTTPStatus.CONFLICT, "Charger already connected\n")

    @staticmethod
    def _select_subprotocol(
        connection: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        if not offered:
            log.warning(
                "no_subprotocol_offered",
                charger_id=charger_id_from_path(connection.request.path)
                if connection.request
                else None,
                assumed="ocpp1.6",
            )
            return None
        for name in SUBPROTOCOLS:
            if name in offered:
                return Subprotocol(name)
        raise NegotiationError(f"no supported OCPP version among {', '.join(offered)}")

    async def _handler(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        charger_id = charger_id_from_path(connection.request.path)
        assert charger_id is not None
        drop_handshake_headers(connection)
        version = SUBPROTOCOLS.get(connection.subprotocol or "ocpp1.6", OcppVersion.V16)
        await self._on_session(connection, charger_id, version)
