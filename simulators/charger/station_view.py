"""`Station`: what a charge point's parts use of it, the `ChargerSim` seen from inside.

ChargerSim builds its parts (connection, dialects, link, faults, metering, operations) and hands
each itself; they name this protocol, not the class, so the station imports its parts and no
part imports the station. Members whose own classes are parts (`link`, `faults`, `ops`) are
typed loosely here for the same reason.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine
from typing import Any, Protocol

from simulators.charger.config import ChargerConfig
from simulators.charger.dialect import Dialect, StopReason
from simulators.charger.evse import ChargingSession, Evse
from simulators.charger.profiles import ProfileStore
from simulators.charger.recorder import ReceivedCall, SentCall, TrafficRecorder
from simulators.charger.simclock import SimClock
from simulators.charger.txqueue import QueuedMessage, TxQueue

__all__ = ["Station"]


class Station(Protocol):
    config: ChargerConfig
    clock: SimClock
    rng: random.Random
    log: Any
    recorder: TrafficRecorder
    profiles: ProfileStore
    queue: TxQueue
    evses: dict[int, Evse]
    dialect: Dialect
    link: Any
    """The open `OcppLink`, or None."""
    ops: Any
    """`CsmsOperations`: what the charge point does when the central system asks."""
    boot_status: str | None
    boot_accepted: bool
    boot_reason: str
    reboot_pending: bool
    reset_when_idle: bool
    heartbeat_interval_s: float
    meter_interval_s: float
    integrated_until_s: float
    power_refreshed: asyncio.Event
    settings: Any
    """The configuration keys/variables the central system reads and writes."""
    auth: Any
    """The local authorization list and cache."""
    reservations: Any
    activity: dict[str, tuple[str, dict[str, Any]]]
    after_boot: list[QueuedMessage]
    firmware_version: str
    boot_settled: asyncio.Event
    """Set when the EVSEs' power was recomputed (schedules follow it)."""

    @property
    def faults(self) -> Any:
        """The `FaultInjector` (switches the link and connection consult)."""
        ...

    @property
    def inject(self) -> Any: ...

    @property
    def online(self) -> bool: ...

    @property
    def received(self) -> list[ReceivedCall]: ...

    @property
    def sent(self) -> list[SentCall]: ...

    async def flush(self, timeout_s: float = 10.0) -> None: ...

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "") -> asyncio.Task[Any]: ...

    def link_up(self, link: Any) -> None: ...

    def link_down(self) -> None: ...

    def booted(self) -> None: ...

    def boot_answered(self, response: dict[str, Any]) -> None: ...

    def timestamp(self, epoch_s: float | None = None) -> str: ...

    def refresh_power(self) -> None: ...

    def deauthorize(self, evse: int) -> None: ...

    async def unplug(self, evse: int = 1) -> None: ...

    async def start_transaction(
        self,
        evse: int = 1,
        id_tag: str = "SIMTAG",
        *,
        authorize: bool = True,
        remote_start_id: int | None = None,
        id_token_type: str = "ISO14443",
    ) -> ChargingSession | None: ...

    async def stop_transaction(
        self, evse: int = 1, reason: StopReason | str = StopReason.LOCAL, *, unplug: bool = False
    ) -> None: ...
