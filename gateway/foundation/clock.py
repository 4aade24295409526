"""Injected time, so leases, heartbeats and the controller are tested by advancing a clock."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock", "format_ts"]


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the epoch (UTC)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; for timeouts and leases."""

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """A clock that moves only when told; sleepers wake when `advance` passes their deadline."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._wall = start
        self._mono = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._mono + seconds, fut))
        await fut

    async def advance(self, seconds: float) -> None:
        """Move time forward and let every task whose sleep ended run."""
        self._wall += seconds
        self._mono += seconds
        due = [(t, f) for t, f in self._sleepers if t <= self._mono]
        self._sleepers = [(t, f) for t, f in self._sleepers if t > self._mono]
        for _, fut in sorted(due, key=lambda item: item[0]):
            if not fut.done():
                fut.set_result(None)
        for _ in range(10):
            await asyncio.sleep(0)


def format_ts(epoch_s: float) -> str:
    """RFC 3339 UTC with milliseconds, as in every payload's `ts`."""
    dt = datetime.fromtimestamp(epoch_s, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
