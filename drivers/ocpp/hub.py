"""What every OCPP session shares: config, recorder, transaction store, charger books, sessions."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from websockets.asyncio.server import ServerConnection

from drivers.ocpp.core.authorize import TagAuthorizer
from drivers.ocpp.core.profiles import ChargerRating
from drivers.ocpp.reports import ReportWaiters
from drivers.ocpp.start_records import StartRecords
from drivers.ocpp.state import ChargerBook
from drivers.ocpp.tag_store import TagStore
from drivers.ocpp.transaction_store import TransactionStore
from gateway.foundation.clock import Clock
from gateway.foundation.config import ChargerConfig, OcppConfig
from gateway.foundation.driver_api import DriverLeases
from gateway.foundation.model import ChargerId
from gateway.foundation.model.versions import OcppVersion
from gateway.foundation.recording import RecordSink

__all__ = ["Hub", "SessionHandle"]

log = structlog.get_logger("drivers.ocpp")


class SessionHandle(Protocol):
    """What the hub's users need of a charger's open session (`drivers.ocpp.session`).

    A protocol, so the hub does not import the session that imports it.
    """

    charger_id: str
    version: OcppVersion
    closed: asyncio.Event
    ws: ServerConnection
    log: Any

    async def submit(self, action: str, payload: dict[str, Any], timeout_s: float) -> Any: ...

    async def close(self, reason: str) -> None: ...

    provisioned: bool

    def publish_state(self, reason: str | None = None) -> Awaitable[None]: ...


class BootFollowUp(Protocol):
    """What runs after each BootNotification (provisioning.py). `s` is the ChargerSession,
    typed Any because the hub does not import the session module that imports it."""

    def boot_status(self, s: Any) -> str: ...

    async def after_boot(self, s: Any, status: str) -> None: ...


@dataclass
class Hub:
    config: OcppConfig
    recorder: RecordSink
    store: TransactionStore
    clock: Clock
    leases: DriverLeases
    """Only for leases outside a command (restored, ended by the charger): the router grants
    a command's."""
    tag_store: TagStore | None = None
    """The site's tags and issued Central tokens (opened by the driver)."""
    authorizer: TagAuthorizer = field(init=False)
    chargers: dict[str, ChargerConfig] = field(init=False)
    books: dict[str, ChargerBook] = field(default_factory=dict)
    sessions: dict[str, SessionHandle] = field(default_factory=dict)
    reports: ReportWaiters = field(default_factory=ReportWaiters)
    start_records: StartRecords = field(init=False)
    """Transactions saved without a durable `started` record (made when resent)."""
    request_ids: Iterator[int] = field(
        default_factory=lambda: itertools.count(int(time.time()) % 1_000_000_000)
    )
    """Ids of the requests the gateway makes (update_firmware, get_logs): one series, so a
    request id names one request."""
    boot_follow_up: BootFollowUp | None = None
    """Provisioning, Pending boots and local list sync after each BootNotification."""
    _admitted: dict[str, ChargerConfig] = field(default_factory=dict)
    """Default configs of unknown chargers let in by `allow_unknown_chargers`."""

    def __post_init__(self) -> None:
        self.authorizer = TagAuthorizer(
            self.config.authorize.tags,
            accept_all=self.config.authorize.accept_all,
            site_tags=lambda: self.tag_store.tags if self.tag_store is not None else {},
            issued=lambda token: self.tag_store is not None and self.tag_store.issued(token),
        )
        self.chargers = {c.id: c for c in self.config.chargers}
        self.start_records = StartRecords(self.store.note_started_recorded)

    def charger_config(self, charger_id: str) -> ChargerConfig:
        """The configured charger, or defaults for an unknown one (allow_unknown_chargers)."""
        config = self.chargers.get(charger_id) or self._admitted.get(charger_id)
        if config is None:
            config = self._admitted[charger_id] = ChargerConfig(id=charger_id)
        return config

    def rating(self, charger_id: str) -> ChargerRating:
        cfg = self.charger_config(charger_id)
        return ChargerRating(
            cfg.max_power_w, cfg.phases, cfg.voltage_v, cfg.rate_unit, cfg.bidirectional
        )

    def book(self, charger_id: str) -> ChargerBook:
        book = self.books.get(charger_id)
        if book is None:
            book = self.books[charger_id] = ChargerBook(ChargerId(charger_id))
            book.load_identity(self.store.identity(charger_id))
        return book

    def publish_state(self, charger_id: str, reason: str | None = None) -> Awaitable[None]:
        """Record the charger's retained state (identity, EVSEs, open transactions, limits)."""
        book = self.book(charger_id)
        return self.recorder.record(book.state(self.store.open_for(charger_id), reason))
