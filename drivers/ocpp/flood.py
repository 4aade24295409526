"""Per-charger budget of messages and bytes: one charger cannot flood the gateway.

Two token buckets (messages, bytes), refilled at the configured rates and holding `burst_s`
seconds of them, so a charger flushing its offline queue after a reconnect goes through while
a firmware stuck in a loop (or an attacker) is held to the rate. Over budget, a CALL is
answered with a CALLERROR and not handled; the charger retries later as for any error. The
warning is logged once per interval with what was refused since, not once per message.
Pure: the clock is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FloodBudget", "Overrun"]

_LOG_EVERY_S = 60.0


@dataclass(slots=True)
class _Bucket:
    rate: float
    size: float
    level: float
    at: float

    def take(self, amount: float, now: float) -> bool:
        self.level = min(self.size, self.level + (now - self.at) * self.rate)
        self.at = now
        if self.level < amount and self.level < self.size:
            return False
        self.level -= amount  # a single message bigger than the bucket passes when it is full
        return True


@dataclass(frozen=True, slots=True)
class Overrun:
    """What to log: refused messages and bytes since the last warning."""

    messages: int
    bytes: int


@dataclass(slots=True)
class FloodBudget:
    messages_per_s: float
    bytes_per_s: float
    burst_s: float
    now: float
    _messages: _Bucket = field(init=False)
    _bytes: _Bucket = field(init=False)
    _refused: int = 0
    _refused_bytes: int = 0
    _logged_at: float | None = None

    def __post_init__(self) -> None:
        m, b = self.messages_per_s, self.bytes_per_s
        self._messages = _Bucket(m, m * self.burst_s, m * self.burst_s, self.now)
        self._bytes = _Bucket(b, b * self.burst_s, b * self.burst_s, self.now)

    def admit(self, size: int, now: float) -> bool:
        """Whether a message of `size` bytes may be handled now (takes it from the budget)."""
        if self._messages.take(1, now) and self._bytes.take(size, now):
            return True
        self._refused += 1
        self._refused_bytes += size
        return False

    def overrun_to_log(self, now: float) -> Overrun | None:
        """Refusals since the last warning, at most once per interval (None: nothing to log)."""
        if not self._refused:
            return None
        if self._logged_at is not None and now - self._logged_at < _LOG_EVERY_S:
            return None
        self._logged_at = now
        overrun = Overrun(self._refused, self._refused_bytes)
        self._refused = self._refused_bytes = 0
        return overrun
