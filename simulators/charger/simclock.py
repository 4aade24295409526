"""The charge point's own clock: scaled simulated time over an injectable real clock.

Real chargers keep a clock that the central system sets (BootNotification.conf currentTime);
some never set it and stamp 1970. Simulated time runs `time_scale` times faster than the real
clock underneath, so energy and timestamps stay consistent with each other.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from gateway.foundation.clock import Clock, SystemClock

__all__ = ["SimClock", "TimestampStyle", "format_timestamp", "parse_timestamp"]


class TimestampStyle(StrEnum):
    """How the charge point writes timestamps (quirks seen in the field)."""

    UTC = "utc"  # 2026-01-01T00:00:00.000Z, as the spec asks
    LOCAL = "local"  # 2026-01-01T08:00:00 : local time, no Z and no offset
    UNSET = "unset"  # 1970-01-01T00:00:42Z : clock never set, counts from power-up


class SimClock:
    """Simulated wall clock and sleeps in simulated seconds."""

    def __init__(self, time_scale: float = 1.0, clock: Clock | None = None) -> None:
        self.time_scale = time_scale
        self._clock: Clock = clock or SystemClock()
        self._mono0 = self._clock.monotonic()
        self._epoch0 = self._clock.time()

    def elapsed(self) -> float:
        """Simulated seconds since this clock was made (the charger's uptime)."""
        return (self._clock.monotonic() - self._mono0) * self.time_scale

    def now(self) -> float:
        """Simulated epoch seconds (UTC)."""
        return self._epoch0 + self.elapsed()

    def set_time(self, epoch_s: float) -> None:
        """Set the clock, as a charger does from the central system's currentTime."""
        self._epoch0 = epoch_s - self.elapsed()

    async def sleep(self, sim_seconds: float) -> None:
        await self._clock.sleep(max(0.0, sim_seconds) / self.time_scale)

    def timestamp(self, style: TimestampStyle = TimestampStyle.UTC) -> str:
        epoch = self.elapsed() if style is TimestampStyle.UNSET else self.now()
        return format_timestamp(epoch, style)


def format_timestamp(epoch_s: float, style: TimestampStyle = TimestampStyle.UTC) -> str:
    """RFC 3339 text in the requested style."""
    if style is TimestampStyle.LOCAL:
        local = datetime.fromtimestamp(epoch_s).astimezone()
        return local.strftime("%Y-%m-%dT%H:%M:%S")
    dt = datetime.fromtimestamp(epoch_s, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> float:
    """Epoch seconds from an OCPP date-time; a missing offset is read as UTC."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
