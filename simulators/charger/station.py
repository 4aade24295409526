"""`ChargerSim`: one simulated charge point — its EVSEs, sessions and physics, and the async
API that tests, scenarios and the CLI drive it with. The network side is in `connection`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine
from typing import Any

import structlog
from websockets.exceptions import ConnectionClosed

from gateway.foundation.aio import cancel_and_wait
from gateway.foundation.clock import Clock
from simulators.charger import metering
from simulators.charger.auth_lists import AuthLists
from simulators.charger.config import ChargerConfig, OcppVersion
from simulators.charger.config_store import ConfigStore
from simulators.charger.connection import run_connection
from simulators.charger.dialect import Dialect, StopReason
from simulators.charger.dialect_v2 import V2Dialect
from simulators.charger.dialect_v16 import V16Dialect
from simulators.charger.ev import EvSpec
from simulators.charger.evse import ChargingSession, Evse, EvseStatus
from simulators.charger.faults import FaultInjector
from simulators.charger.link import OcppLink
from simulators.charger.operations import CsmsOperations
from simulators.charger.profiles import ProfileStore
from simulators.charger.recorder import CallRejectedError, ReceivedCall, SentCall, TrafficRecorder
from simulators.charger.reservations import Reservations
from simulators.charger.schedule import station_limit
from simulators.charger.simclock import SimClock, TimestampStyle, format_timestamp
from simulators.charger.txqueue import QueuedMessage, TxQueue

__all__ = ["ChargerSim"]


class ChargerSim:
    """A charge point that connects to a central system and behaves like real hardware."""

    def __init__(
        self,
        config: ChargerConfig,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        ev: EvSpec | None = None,
    ) -> None:
        self.config = config
        self.clock = SimClock(config.time_scale, clock)
        self.rng = rng or random.Random()
        self.log = structlog.get_logger(__name__).bind(charger_id=config.charger_id)
        self.recorder = TrafficRecorder(config.record_limit)
        self.faults = FaultInjector(self)
        self.profiles = ProfileStore()
        self.queue = TxQueue(config.offline_queue_limit)
        self.default_ev = ev or EvSpec()
        self.evses: dict[int, Evse] = {
            i: Evse(
                id=i,
                phases=config.phases,
                voltage_v=config.voltage_v,
                max_power_w=config.max_power_w,
                max_discharge_w=config.discharge_limit_w,
            )
            for i in range(1, config.evse_count + 1)
        }
        self.dialect: Dialect = (
            V16Dialect(self) if config.ocpp_version is OcppVersion.V16 else V2Dialect(self)
        )
        self.ops = CsmsOperations(self)
        self.settings = ConfigStore(self)
        self.auth = AuthLists()
        self.reservations = Reservations(self)
        self.activity: dict[str, tuple[str, dict[str, Any]]] = {}
        """The latest firmware / diagnostics / log status sent (for TriggerMessage)."""
        self.after_boot: list[QueuedMessage] = []
        """Messages to send once the next boot is accepted (a firmware update's Installed)."""
        self.firmware_version = config.firmware
        """The version this charger boots with (changes after a firmware update)."""
        self.link: OcppLink | None = None
        self.boot_status: str | None = None
        self.boot_accepted = False
        self.boot_settled = asyncio.Event()
        """Set when a BootNotification outside the boot loop (a triggered one) was accepted."""
        self.boot_reason = "PowerUp"
        self.reboot_pending = False
        self.reset_when_idle = False
        self.heartbeat_interval_s = config.heartbeat_interval_s
        self.meter_interval_s = config.meter_interval_s
        self.connections = 0
        self.stopping = False
        self._connected = asyncio.Event()
        self._booted = asyncio.Event()
        self._disconnected = asyncio.Event()
        self._disconnected.set()
        self.integrated_until_s = self.clock.elapsed()  # physics has run up to here
        self.power_refreshed = asyncio.Event()
        """Set whenever the EVSEs re-evaluated their limits (profiles or sessions changed)."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._main: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Begin connecting (in the background) and running the physics."""
        if self._main is None:
            self._main = asyncio.create_task(self._run(), name=f"sim-{self.config.charger_id}")

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(metering.meter_loop(self))
            group.create_task(metering.schedule_loop(self))
            group.create_task(run_connection(self))

    async def stop(self) -> None:
        """Close the connection and end every task; sessions are left as they are."""
        self.stopping = True
        tasks = [t for t in (self._main, *self._tasks) if t is not None]
        link = self.link
        await cancel_and_wait(tasks, retry_s=1.0)  # leaving `connect()` sends a close frame
        if link is not None:
            link.abort()  # in case the closing handshake was cut short
        self.link_down()
        self._main = None
        self.stopping = False

    async def __aenter__(self) -> ChargerSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "") -> asyncio.Task[Any]:
        """Run a follow-up in the background, keeping a reference and logging its failure."""
        task = asyncio.create_task(coro, name=name or None)
        self._tasks.add(task)

        def finished(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                self.log.error("task_failed", task=name, error=repr(t.exception()))

        task.add_done_callback(finished)
        return task

    # -- connection state --------------------------------------------------------------------

    @property
    def inject(self) -> FaultInjector:
        return self.faults

    @property
    def received(self) -> list[ReceivedCall]:
        """The CALLs the central system sent, in order (the latest `record_limit`)."""
        return list(self.recorder.received)

    @property
    def sent(self) -> list[SentCall]:
        """The CALLs this charge point sent, with the response or error each got."""
        return list(self.recorder.sent)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def online(self) -> bool:
        """Connected and accepted: messages go out now instead of waiting in the queue."""
        return self._booted.is_set()

    async def wait_connected(self, timeout_s: float = 10.0) -> None:
        async with asyncio.timeout(timeout_s):
            await self._connected.wait()

    async def wait_booted(self, timeout_s: float = 10.0) -> None:
        """Wait until the central system accepted the BootNotification on a live connection."""
        async with asyncio.timeout(timeout_s):
            await self._booted.wait()

    async def wait_disconnected(self, timeout_s: float = 10.0) -> None:
        async with asyncio.timeout(timeout_s):
            await self._disconnected.wait()

    async def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until every queued message has been delivered (or given up)."""
        async with asyncio.timeout(timeout_s):
            await self.queue.wait_empty()

    def link_up(self, link: OcppLink) -> None:
        self.link = link
        self.connections += 1
        self._connected.set()
        self._disconnected.clear()
        self.log.info("connected", url=self.config.endpoint, subprotocol=link.subprotocol)

    def link_down(self) -> None:
        if self.link is not None:
            if self.stopping:
                self.log.info("stopped", queued=len(self.queue))
            else:
                self.log.warning("disconnected", queued=len(self.queue))
        self.link = None
        self._connected.clear()
        self._disconnected.set()
        self._booted.clear()
        self.queue.drop_volatile()

    def boot_answered(self, response: dict[str, Any]) -> None:
        """A triggered BootNotification's answer: Accepted ends a Pending wait at once."""
        self.boot_status = str(response.get("status"))
        if self.boot_status == "Accepted" and not self.boot_accepted:
            interval = float(response.get("interval") or 0)
            if interval > 0:
                self.heartbeat_interval_s = interval
            self.boot_accepted = True
            self.boot_settled.set()

    def booted(self) -> None:
        self._booted.set()
        for message in self.after_boot:
            self.queue.put(message)
        self.after_boot.clear()
        metering.enqueue_all_statuses(self)

    def timestamp(self, epoch_s: float | None = None) -> str:
        """A timestamp as this charge point writes them (quirks included)."""
        style = self.faults.timestamp_style
        if epoch_s is None or style is TimestampStyle.UNSET:
            return self.clock.timestamp(style)
        return format_timestamp(epoch_s, style)

    # -- readings ----------------------------------------------------------------------------

    def power_w(self, evse: int = 1) -> float:
        return self.evses[evse].power_w

    def soc_pct(self, evse: int = 1) -> float | None:
        return self.evses[evse].soc_pct

    def energy_wh(self, evse: int = 1) -> float:
        return self.evses[evse].energy_import_wh

    def limit_w(self, evse: int = 1) -> float | None:
        """The charging limit in force from profiles (EVSE and station-wide), or None."""
        own = self.evses[evse].limit.charge_w
        cap = station_limit(
            self.profiles,
            self.clock.now(),
            phases=self.config.phases,
            voltage_v=self.config.voltage_v,
        )
        limits = [x for x in (own, cap) if x is not None]
        return min(limits) if limits else None

    def transaction_id(self, evse: int = 1) -> str | None:
        session = self.evses[evse].session
        return None if session is None else session.transaction_id

    def status(self, evse: int = 1) -> EvseStatus:
        return self.evses[evse].status

    # -- physics -----------------------------------------------------------------------------

    def tick(self) -> None:
        """One meter interval (see `metering.tick`)."""
        metering.tick(self)

    def refresh_power(self) -> None:
        """Integrate up to now and let every EVSE follow its limit at once."""
        metering.refresh_power(self)

    # -- sessions (public API) ---------------------------------------------------------------

    async def plug_in(
        self,
        evse: int = 1,
        *,
        ev: EvSpec | None = None,
        id_tag: str | None = None,
        until_soc_pct: float | None = None,
        duration_s: float | None = None,
    ) -> ChargingSession | None:
        """Connect an EV; with `id_tag`, also authorize and start charging."""
        unit = self.evses[evse]
        if not unit.plugged:
            spec = ev or self.default_ev
            unit.ev = spec
            unit.soc_pct = spec.initial_soc_pct
            unit.finishing = False
            self.log.info("plugged_in", evse=evse, soc_pct=spec.initial_soc_pct)
            self.refresh_power()
        if id_tag is None:
            return None
        session = await self.start_transaction(evse, id_tag)
        if session is not None:
            session.until_soc_pct = until_soc_pct
            if duration_s is not None:
                session.stop_at = session.started_at + duration_s
            session.unplug_on_stop = until_soc_pct is not None or duration_s is not None
        return session

    async def unplug(self, evse: int = 1) -> None:
        """Pull the cable; a running session ends with EVDisconnected."""
        unit = self.evses[evse]
        if unit.session is not None:
            await self.stop_transaction(evse, StopReason.EV_DISCONNECTED)
        unit.ev = None
        unit.soc_pct = None
        unit.finishing = False
        self.log.info("unplugged", evse=evse)
        self.refresh_power()

    async def authorize(self, id_tag: str) -> bool:
        """Local list and cache first when LocalPreAuthorize is on; otherwise ask the central
        system (remembering its answer in the cache). Offline: what the local list or cache
        says, and an unknown tag is accepted (LocalAuthorizeOffline, as many chargers do)."""
        known = self.auth.known(id_tag)
        settings = self.settings
        if known == "Accepted" and settings.flag(
            "LocalPreAuthorize", "AuthCtrlr", "LocalPreAuthorize"
        ):
            self.log.info("authorized_locally", id_tag=id_tag)
            return True
        link = self.link
        if link is None or not self.online:
            return known in (None, "Accepted")
        action, payload = self.dialect.authorize(id_tag)
        try:
            response = await link.request(action, payload)
        except (ConnectionClosed, TimeoutError) as exc:
            self.log.info("authorize_offline", id_tag=id_tag, error=type(exc).__name__)
            return known in (None, "Accepted")
        except CallRejectedError as exc:
            self.log.warning("authorize_refused", id_tag=id_tag, code=exc.code)
            return False
        accepted = self.dialect.id_accepted(response)
        if settings.flag("AuthorizationCacheEnabled", "AuthCacheCtrlr"):
            self.auth.remember(id_tag, "Accepted" if accepted else "Invalid")
        return accepted

    async def start_transaction(
        self,
        evse: int = 1,
        id_tag: str = "SIMTAG",
        *,
        authorize: bool = True,
        remote_start_id: int | None = None,
        id_token_type: str = "ISO14443",
    ) -> ChargingSession | None:
        """Start a session (plugging in the default EV if none is there); None if refused."""
        unit = self.evses[evse]
        if unit.session is not None:
            raise RuntimeError(f"EVSE {evse} already has a transaction")
        if not unit.operative:
            self.log.info("start_refused_unavailable", evse=evse)
            return None
        allowed, reservation_id = self.reservations.claim(evse, id_tag)
        if not allowed:
            self.log.info("start_refused_reserved", evse=evse, id_tag=id_tag)
            return None
        if authorize and not await self.authorize(id_tag):
            self.log.info("authorization_rejected", evse=evse, id_tag=id_tag)
            return None
        if not unit.plugged:
            await self.plug_in(evse)
        self.refresh_power()  # integrate up to the start before the meter reading is taken
        session = ChargingSession(
            id_tag=id_tag,
            started_at=self.clock.now(),
            meter_start_wh=unit.energy_import_wh,
            remote_start_id=remote_start_id,
            id_token_type=id_token_type,
            reservation_id=reservation_id,
        )
        unit.session = session
        unit.reported_state = None
        trigger = "RemoteStart" if remote_start_id is not None else "Authorized"
        message = self.dialect.tx_started(unit, session, trigger)
        self.queue.put(message)
        self.log.info("transaction_started", evse=evse, id_tag=id_tag)
        self.refresh_power()
        await self._delivered(message)
        return session

    async def stop_transaction(
        self, evse: int = 1, reason: StopReason | str = StopReason.LOCAL, *, unplug: bool = False
    ) -> None:
        """End the session on `evse`; the Stop / Ended message is queued in order."""
        unit = self.evses[evse]
        session = unit.session
        if session is None or session.ended:
            return
        self.refresh_power()
        session.ended = True
        unit.power_w = 0.0
        message = self.dialect.tx_ended(unit, session, StopReason(reason))
        unit.session = None
        unit.finishing = unit.plugged
        self.profiles.end_transaction(evse)
        if unit.pending_operative is not None:
            unit.operative, unit.pending_operative = unit.pending_operative, None
        self.queue.put(message)
        self.log.info(
            "transaction_stopped", evse=evse, reason=str(reason), energy_wh=unit.energy_wh
        )
        self.refresh_power()
        if unplug:
            await self.unplug(evse)
        await self._delivered(message)

    async def report_ev_needs(
        self,
        evse: int = 1,
        *,
        energy_wh: float,
        departure_in_s: float,
        max_discharge_w: float | None = None,
    ) -> str | None:
        """The EV on `evse` tells its needs (ISO 15118, OCPP 2.x NotifyEVChargingNeeds); the
        central system's status, or None when offline or on OCPP 1.6 (no such message)."""
        link = self.link
        if not isinstance(self.dialect, V2Dialect) or link is None or not self.online:
            return None
        departure = format_timestamp(self.clock.now() + departure_in_s)
        action, payload = self.dialect.ev_charging_needs(
            self.evses[evse], energy_wh, departure, max_discharge_w
        )
        response = await link.request(action, payload)
        return str(response.get("status"))

    def deauthorize(self, evse: int) -> None:
        """The central system refused the id after the start (1.6 StopTransactionOnInvalidId)."""
        self.spawn(self.stop_transaction(evse, StopReason.DEAUTHORIZED), "deauthorize")

    async def _delivered(self, message: QueuedMessage) -> None:
        """While online, wait until the central system answered; offline, return at once."""
        if not self.online:
            return
        try:
            async with asyncio.timeout(self.config.response_timeout_s):
                await asyncio.shield(message.delivered)
        except TimeoutError:
            self.log.warning("delivery_slow", action=message.action)
