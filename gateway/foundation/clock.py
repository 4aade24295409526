"""Injected time, so leases, heartbeats and the controller are tested by advancing a clock."""

from __future__ import annotations

import asyncio
import math
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


_PREFIXES: dict[float, str] = {}
"""Whole seconds already formatted. One record carries several times (its `ts` now, the
sample's time, the transaction's start), so a single cached second would be missed on
almost every call; a few hundred entries hold every time a busy second uses."""
_PREFIXES_CAP = 512
_TEXTS: dict[float, str] = {}
"""Whole texts by millisecond (`whole * 1000 + ms`, exact for every year a datetime holds):
records put in the same millisecond share their `ts`."""
_TEXTS_CAP = 4096


def format_ts(epoch_s: float) -> str:
    """RFC 3339 UTC with milliseconds, as in every payload's `ts`.

    Rounds as `datetime.fromtimestamp` does (to the microsecond, half to even), then
    truncates to the millisecond.
    """
    frac, whole = math.modf(epoch_s)
    micros = round(frac * 1e6)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    elif micros < 0:
        whole, micros = whole - 1, micros + 1_000_000
    millis = micros // 1000
    key = whole * 1000.0 + millis
    text = _TEXTS.get(key)
    if text is None:
        text = f"{_prefix(whole)}{millis:03d}Z"
        if len(_TEXTS) >= _TEXTS_CAP:
            _TEXTS.clear()
        _TEXTS[key] = text
    return text


def _prefix(whole: float) -> str:
    prefix = _PREFIXES.get(whole)
    if prefix is None:
        if len(_PREFIXES) >= _PREFIXES_CAP:
            _PREFIXES.clear()
        prefix = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        _PREFIXES[whole] = prefix
    return prefix
