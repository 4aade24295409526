"""Charger timestamps, checked for sanity before they reach a record.

Chargers whose clock is not set yet send 1970 or 2000; some send local time without an offset
(OCPP 1.6 §2.4 and 2.0.1 Part 2 §2.1.1 both require UTC, field reality differs). A timestamp is
kept only when it parses and lies between `_EARLIEST` and a day ahead of the gateway's clock;
otherwise the caller uses the time the gateway received the message.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

__all__ = ["event_time", "parse_timestamp", "parse_timestamp_reference"]

_EARLIEST = datetime(2015, 1, 1, tzinfo=UTC).timestamp()
_MAX_AHEAD_S = 86_400.0
_UNREADABLE = (None, -math.inf, datetime.min.replace(tzinfo=UTC))
"""What `_read` gives for text that is no timestamp (compared by identity)."""
_READ: dict[str, tuple[datetime | None, float, datetime]] = {}
"""Texts read lately, emptied when `_MAX_READ` are held (chargers' clocks move on)."""
_MAX_READ = 256


def parse_timestamp(value: object, now_s: float) -> datetime | None:
    """The charger's time as an aware UTC datetime, or None when missing or implausible.

    A timestamp without an offset is read as UTC (what the standard requires it to be).
    The same text is read once (a 2.x TransactionEvent carries it twice, a burst of queued
    meter values shares it); whether it is plausible is decided every time, against `now_s`.
    """
    if not isinstance(value, str) or not value:
        return None
    read = _READ.get(value)
    if read is None:
        if len(_READ) >= _MAX_READ:
            _READ.clear()
        read = _READ[value] = _read(value)
    if read is _UNREADABLE:
        return None
    utc, epoch, parsed = read
    if epoch < _EARLIEST or epoch > now_s + _MAX_AHEAD_S:
        return None
    return utc if utc is not None else parsed.astimezone(UTC)  # the latter raises, as it did


def parse_timestamp_reference(value: object, now_s: float) -> datetime | None:
    """`parse_timestamp` read from scratch every time (what the cached reading must give)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        epoch = parsed.timestamp()
    except (ValueError, OverflowError):  # year 1 at +14:00 is before year 1 in UTC
        return None
    if epoch < _EARLIEST or epoch > now_s + _MAX_AHEAD_S:
        return None
    return parsed.astimezone(UTC)


def _read(value: str) -> tuple[datetime | None, float, datetime]:
    """The text as (UTC datetime or None when beyond the calendar in UTC, epoch seconds,
    datetime as written), or `_UNREADABLE`."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        epoch = parsed.timestamp()
    except (ValueError, OverflowError):  # year 1 at +14:00 is before year 1 in UTC
        return _UNREADABLE
    try:
        return parsed.astimezone(UTC), epoch, parsed
    except OverflowError:  # 9999-12-31T23:59:59-14:00
        return None, epoch, parsed


def event_time(value: object, now_s: float) -> datetime:
    """The charger's time if plausible, else the gateway's (never None: for transactions)."""
    return parse_timestamp(value, now_s) or datetime.fromtimestamp(now_s, UTC)
