"""The OCPP driver: the websocket server, one session per charger, commands, durable state.

A charger that reconnects replaces its old session (the old connection is closed; its
disconnect does not overwrite the new session's state). The retained state of every
configured charger is published at start as disconnected, with what the store remembers.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from websockets.asyncio.server import ServerConnection

from drivers.ocpp.commands import OcppCommands
from drivers.ocpp.hub import Hub
from drivers.ocpp.server import OcppServer
from drivers.ocpp.session import ChargerSession
from drivers.ocpp.session_v2 import Session2
from drivers.ocpp.session_v16 import Session16
from drivers.ocpp.tag_store import TagStore
from drivers.ocpp.telemetry import record_started
from drivers.ocpp.transaction_store import TransactionStore
from drivers.ocpp.validation import preload
from gateway.foundation.charger_credentials import credential_warnings
from gateway.foundation.driver_api import DriverContext
from gateway.foundation.metrics import OCPP_CHARGERS_CONNECTED
from gateway.foundation.model import DeviceKind
from gateway.foundation.model.versions import OcppVersion

__all__ = ["OcppDriver"]

log = structlog.get_logger("drivers.ocpp")

_FLUSH_EVERY_S = 30.0


class OcppDriver:
    name = "ocpp"

    def __init__(self, context: DriverContext) -> None:
        self._context = context
        self.store = TransactionStore(context.state_dir / "transactions.sqlite")
        self.tag_store = TagStore(context.state_dir / "tags.sqlite")
        self.hub = Hub(
            context.config.ocpp,
            context.recorder,
            self.store,
            context.clock,
            context.leases,
            self.tag_store,
        )
        self.server = OcppServer(self.hub, self._serve_session)
        self.commands = OcppCommands(self.hub, context.uploads)
        self._stopping = asyncio.Event()
        self._sessions: set[asyncio.Task[None]] = set()
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        handled = {
            OcppVersion.V16: Session16.HANDLERS,
            OcppVersion.V201: Session2.HANDLERS,
            OcppVersion.V21: Session2.HANDLERS,
        }
        schemas = preload(handled)  # now, not on first use: a session never opens a file
        log.info("ocpp_schemas_loaded", schemas=schemas)
        await self.store.open()
        for tx in self.store.unrecorded_starts():
            # Saved, then a crash before the outbox took its `started`: recorded now, before
            # any charger is served (a second `started` at worst, never none).
            log.warning(
                "transaction_start_recorded_after_restart",
                charger_id=tx.charger_id,
                transaction_id=tx.transaction_id,
            )
            record_started(self.hub, tx)
        try:
            await self.tag_store.open(self.hub.clock.time())
            await self.server.start()
        except BaseException:
            await self.tag_store.close()
            await self.store.close()
            raise
        self.commands.register(self._context.router)
        for warning in credential_warnings(self.hub.config):
            log.warning("weak_charger_credentials", detail=warning)
        for charger_id in self.hub.chargers:
            self._context.router.add_device(DeviceKind.CHARGER, charger_id)
            self.hub.book(charger_id).connected = False
            self.hub.publish_state(charger_id)
        await self.commands.limits.restore_limits()
        await self.commands.profiles.restore_profiles()

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_FLUSH_EVERY_S):
                    await self._stopping.wait()
            if self._stopping.is_set():
                return  # stop() closes the store, which writes the last readings itself
            await self.store.flush()

    async def stop(self) -> None:
        self._stopping.set()
        await self.server.stop()
        if self._sessions:
            await asyncio.wait(self._sessions, timeout=5)
        await self.store.close()
        await self.tag_store.close()

    async def _serve_session(self, ws: ServerConnection, charger_id: str, version: OcppVersion) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            await self._serve(ws, charger_id, version)
        finally:
            self._sessions.discard(task)

    async def _serve(self, ws: ServerConnection, charger_id: str, version: OcppVersion) -> None:
        hub = self.hub
        cls: type[ChargerSession] = Session16 if version == OcppVersion.V16 else Session2
        session = cls(ws, charger_id, version, hub)
        old = hub.sessions.get(charger_id)
        hub.sessions[charger_id] = session
        if old is not None:
            # In the background: the old peer is often a dead TCP connection, and waiting for
            # its closing handshake would hold up the new session's BootNotification.
            session.log.info("session_replaced")
            closing = asyncio.create_task(old.close("replaced by a new connection"))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        if charger_id not in hub.chargers:
            session.log.warning("unknown_charger_admitted")
            self._context.router.add_device(DeviceKind.CHARGER, charger_id)
        book = hub.book(charger_id)
        book.connected = True
        book.version = version
        OCPP_CHARGERS_CONNECTED.set(len(hub.sessions))
        session.log.info("charger_connected", subprotocol=ws.subprotocol)
        session.publish_state()
        try:
            await session.run()
        finally:
            if hub.sessions.get(charger_id) is session:
                del hub.sessions[charger_id]
                book.connected = False
                session.publish_state()
                OCPP_CHARGERS_CONNECTED.set(len(hub.sessions))


def create_driver(context: DriverContext) -> OcppDriver:
    return OcppDriver(context)
