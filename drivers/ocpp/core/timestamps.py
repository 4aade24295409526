"""Charger timestamps, checked for sanity before they reach a record.

Chargers whose clock is not set yet send 1970 or 2000; some send local time without an offset
(OCPP 1.6 §2.4 and 2.0.1 Part 2 §2.1.1 both require UTC, field reality differs). A timestamp is
kept only when it parses and lies between `_EARLIEST` and a day ahead of the gateway's clock;
otherwise the caller uses the time the gateway received the message.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["event_time", "parse_timestamp"]

_EARLIEST = datetime(2015, 1, 1, tzinfo=UTC).timestamp()
_MAX_AHEAD_S = 86_400.0


def parse_timestamp(value: object, now_s: float) -> datetime | None:
    """The charger's time as an aware UTC datetime, or None when missing or implausible.

    A timestamp without an offset is read as UTC (what the standard requires it to be).
    """
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


def event_time(value: object, now_s: float) -> datetime:
    """The charger's time if plausible, else the gateway's (never None: for transactions)."""
    return parse_timestamp(value, now_s) or datetime.fromtimestamp(now_s, UTC)
