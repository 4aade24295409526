"""One log line per interval for something that can happen thousands of times a second.

A flood of refused connections (or `accept()` failing for want of descriptors) must not turn
into a flood of log lines: the first occurrence is logged at once, later ones within the
interval are counted and reported in one line when it ends (`count` = occurrences it covers).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

__all__ = ["ThrottledLog"]


class ThrottledLog:
    def __init__(
        self, logger: Any, event: str, *, interval_s: float = 10.0, level: str = "warning"
    ) -> None:
        self._log = logger
        self._event = event
        self._interval_s = interval_s
        self._level = level
        self._last_s = -float("inf")
        self._suppressed = 0
        self._fields: dict[str, Any] = {}
        self._flush: asyncio.TimerHandle | None = None
        self.total = 0
        """Occurrences ever noted (for tests and metrics)."""

    def note(self, **fields: Any) -> None:
        """One occurrence; `fields` of the latest one go into the next line."""
        self.total += 1
        now = time.monotonic()
        if now - self._last_s >= self._interval_s:
            self._emit(now, 1, fields)
            return
        self._suppressed += 1
        self._fields = fields
        if self._flush is None:
            with_loop = _running_loop()
            if with_loop is not None:
                delay = self._interval_s - (now - self._last_s)
                self._flush = with_loop.call_later(delay, self._flush_suppressed)

    def _flush_suppressed(self) -> None:
        self._flush = None
        if self._suppressed:
            self._emit(time.monotonic(), self._suppressed, self._fields)

    def _emit(self, now: float, count: int, fields: dict[str, Any]) -> None:
        self._last_s = now
        self._suppressed = 0
        getattr(self._log, self._level)(
            self._event, count=count, interval_s=self._interval_s, **fields
        )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
