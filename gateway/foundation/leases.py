"""Setpoints from outside expire unless renewed.

A lease holds one device's commanded setpoint or limit, whoever sent it (the control centre,
the site controller, the web page). When its TTL passes without renewal, or when the MQTT link
to the control centre drops (for the control centre's leases with a TTL), the lease lapses and
its `on_lapse` callback withdraws it (the device returns to its configured fallback). The
expiry is computed here and nowhere else. Drivers never reach this table: the command router
grants, renews and releases a command's lease (`gateway.foundation.commands.leasing`), and a
driver sees only the narrow `DriverLeases` of its context (`driver_api`). Time comes from
the injected clock, so tests advance it instead of sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

import structlog

from gateway.foundation.clock import Clock, SystemClock
from gateway.foundation.model.commands import CommandSource

__all__ = ["Instant", "LapseReason", "Lease", "LeaseTable", "OnLapse"]

log = structlog.get_logger("gateway.leases")

LapseReason = str
"""`lease_expired` (TTL passed) or `mqtt_lost` (the control centre's link dropped)."""

OnLapse = Callable[[LapseReason], Awaitable[None]]
"""How a holding is withdrawn when its lease lapses (the driver's fallback)."""

Instant = tuple[float, float]
"""(monotonic, wall-clock) seconds at one moment: a lease's TTL counts from it."""


@dataclass
class Lease:
    key: Hashable
    ttl_s: float | None
    deadline: float | None
    """Monotonic time the lease lapses at; None: held until replaced or released."""
    expires_at: float | None
    """The same deadline on the wall clock, for state payloads."""
    on_lapse: OnLapse
    source: CommandSource = CommandSource.COMMAND


class LeaseTable:
    def __init__(self, clock: Clock | None = None, *, tick_s: float = 0.2) -> None:
        self._clock = clock or SystemClock()
        self._tick_s = tick_s
        self._leases: dict[Hashable, Lease] = {}
        self._lapsing: set[asyncio.Task[None]] = set()

    def grant(
        self,
        key: Hashable,
        ttl_s: float | None,
        on_lapse: OnLapse,
        *,
        source: CommandSource = CommandSource.COMMAND,
        since: Instant | None = None,
    ) -> Lease:
        """Grant or renew the lease for `key` (a renewal replaces the previous one).

        The TTL counts from `since` (default: now). Every source's TTL counts; only the
        control centre's leases also lapse on `mqtt_lost`.
        """
        monotonic, wall = self.now() if since is None else since
        deadline = None if ttl_s is None else monotonic + ttl_s
        expires = None if ttl_s is None else wall + ttl_s
        lease = Lease(key, ttl_s, deadline, expires, on_lapse, CommandSource(source))
        self._leases[key] = lease
        return lease

    def now(self) -> Instant:
        return self._clock.monotonic(), self._clock.time()

    def resume(
        self,
        key: Hashable,
        expires_at: float | None,
        on_lapse: OnLapse,
        *,
        source: CommandSource = CommandSource.COMMAND,
    ) -> Lease:
        """A lease granted before a restart, kept with its wall-clock end (None: no end)."""
        monotonic, wall = self.now()
        ttl_s = None if expires_at is None else expires_at - wall
        deadline = None if ttl_s is None else monotonic + ttl_s
        lease = Lease(key, ttl_s, deadline, expires_at, on_lapse, CommandSource(source))
        self._leases[key] = lease
        return lease

    def ended(self, key: Hashable) -> None:
        """The device dropped what `key` held by itself: the lease goes, nothing to withdraw."""
        self.release(key)

    def release(self, key: Hashable) -> None:
        self._leases.pop(key, None)

    def get(self, key: Hashable) -> Lease | None:
        return self._leases.get(key)

    def __len__(self) -> int:
        return len(self._leases)

    def mqtt_connection_changed(self, connected: bool) -> None:
        """Lost contact with the control centre lapses every TTL lease it holds."""
        if connected:
            return
        for lease in [
            le
            for le in self._leases.values()
            if le.ttl_s is not None and le.source is CommandSource.COMMAND
        ]:
            self._lapse(lease, "mqtt_lost")

    async def run(self) -> None:
        while True:
            await self._clock.sleep(self._tick_s)
            self.check()

    def check(self) -> None:
        now = self._clock.monotonic()
        for lease in [
            le for le in self._leases.values() if le.deadline is not None and le.deadline <= now
        ]:
            self._lapse(lease, "lease_expired")

    def _lapse(self, lease: Lease, reason: LapseReason) -> None:
        if self._leases.get(lease.key) is not lease:
            return
        del self._leases[lease.key]
        log.info("lease_lapsed", key=str(lease.key), reason=reason)
        task = asyncio.create_task(self._call(lease, reason))
        self._lapsing.add(task)
        task.add_done_callback(self._lapsing.discard)

    @staticmethod
    async def _call(lease: Lease, reason: LapseReason) -> None:
        try:
            await lease.on_lapse(reason)
        except Exception:
            log.exception("lease_fallback_failed", key=str(lease.key), reason=reason)

    async def settle(self) -> None:
        """Wait for fallbacks in progress (tests, shutdown)."""
        while self._lapsing:
            await asyncio.gather(*self._lapsing, return_exceptions=True)
