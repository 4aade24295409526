"""The one place JSON is written for MQTT: strict JSON, valid UTF-8, bounded size.

Strict means what every JSON parser accepts (RFC 8259): no `NaN`/`Infinity` (`allow_nan=False`)
and no lone surrogates (encoding to UTF-8 fails on them). A body that is not strict JSON
raises `ValueError`/`TypeError` here, before it can reach the outbox or the broker.

An event too large for the record size limit (a 1 MB DataTransfer) keeps its small fields and
loses the bulk of `data`; `data_truncated: true` and `data_bytes` (the size of the original
`data` as JSON) say so, so a control centre knows it saw a cut record.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = ["dumps", "fit_data", "stamp", "valid_topic_name"]

_KEEP_STRING_CHARS = 256
"""A long string in a cut `data` keeps this many characters (enough to identify it)."""
_KEEP_VALUE_BYTES = 1024
"""A nested value in a cut `data` is kept whole only up to this size as JSON."""


_FAST = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
_FAST_SORTED = _FAST | orjson.OPT_SORT_KEYS
# Where orjson's bytes may differ from the reference (the markers `dumps` looks for): `null`
# may be a NaN (orjson writes non-finite floats as null), and floats below 1e-4 are spelled
# differently (`0.00001`, `2.5e-7`: same value).


def dumps(body: Any, *, sort_keys: bool = False) -> bytes:
    """Compact strict JSON as UTF-8; ValueError (NaN, a lone surrogate) or TypeError.

    orjson writes it (a fifth of the stdlib's time for a telemetry record); whatever it
    refuses (a lone surrogate, an integer beyond 64 bits, a str or int subclass, a type
    the stdlib refuses too) and any output that might not be byte-for-byte what the stdlib
    writes goes to the stdlib encoder, which stays the reference: same bytes, same errors.
    """
    try:
        data = orjson.dumps(body, option=_FAST_SORTED if sort_keys else _FAST)
    except TypeError:  # orjson.JSONEncodeError
        return _reference(body, sort_keys)
    text = data.decode()  # (a str finds a marker for a fraction of what `in` costs on bytes)
    if "null" in text or "e-" in text or "0.0000" in text:
        return _reference(body, sort_keys)
    return data


def _reference(body: Any, sort_keys: bool) -> bytes:
    return json.dumps(
        body, separators=(",", ":"), ensure_ascii=False, allow_nan=False, sort_keys=sort_keys
    ).encode()


def stamp(seq: int, stamped_body: bytes) -> bytes:
    """Put `"seq":N` first into an object already serialised by `dumps` (`{"ts":...}`)."""
    return b'{"seq":%d,%s' % (seq, stamped_body[1:])


def fit_data(body: dict[str, Any], limit: int, size: int) -> dict[str, Any] | None:
    """A copy of `body` whose `data` is cut so the whole fits in `limit` bytes, or None.

    `size` is the current serialised size. None when there is no `data` to cut, or cutting
    it cannot bring the record under the limit (then the record is refused, not mangled).
    """
    data = body.get("data")
    if not isinstance(data, dict | list | str):
        return None
    original = len(dumps(data))
    budget = limit - (size - original) - 64  # room for the flag fields
    if budget <= 2:
        return None
    cut = _cut(data, budget)
    fitted = {**body, "data": cut, "data_truncated": True, "data_bytes": original}
    return fitted if len(dumps(fitted)) <= limit else None


def _cut(data: Any, budget: int) -> Any:
    if isinstance(data, str):
        return data[: min(_KEEP_STRING_CHARS, max(0, budget // 4))]
    items = list(data.items()) if isinstance(data, dict) else list(enumerate(data))
    kept: list[tuple[Any, Any]] = []
    used = 2
    for key, value in items:
        small = _small(value)
        if small is None:
            continue
        cost = len(dumps(small)) + len(dumps(str(key))) + 2
        if used + cost > budget:
            break
        kept.append((key, small))
        used += cost
    if isinstance(data, dict):
        return dict(kept)
    return [value for _, value in kept]


def _small(value: Any) -> Any:
    """The value itself if small, a long string's head, or None (left out)."""
    if isinstance(value, str):
        return value[:_KEEP_STRING_CHARS]
    if len(dumps(value)) <= _KEEP_VALUE_BYTES:
        return value
    return None


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


_GOOD_TOPICS: set[str] = set()
"""Topic names already found publishable: a site has a few per device, each checked for
every record (when it is put and again when it is sent). Bounded: cleared when full."""
_GOOD_TOPICS_CAP = 50_000


def valid_topic_name(topic: str) -> str | None:
    """None if `topic` is a publishable MQTT topic name, else what is wrong with it.

    MQTT 5 §4.7: UTF-8 (no lone surrogates), no wildcards, no NUL, at most 65,535 bytes;
    control characters are refused too (§1.5.4: Mosquitto disconnects a client on them).
    """
    if topic in _GOOD_TOPICS:
        return None
    problem = _topic_problem(topic)
    if problem is None and len(topic) <= 1024:
        if len(_GOOD_TOPICS) >= _GOOD_TOPICS_CAP:
            _GOOD_TOPICS.clear()
        _GOOD_TOPICS.add(topic)
    return problem


def _topic_problem(topic: str) -> str | None:
    if not topic:
        return "empty topic"
    if "+" in topic or "#" in topic:
        return "wildcard in topic name"
    if _CONTROL.search(topic) is not None:  # every record passes here: one C-level scan
        return "control character in topic"
    try:
        encoded = topic.encode()
    except UnicodeEncodeError:
        return "topic is not valid UTF-8"
    if len(encoded) > 65535:
        return "topic longer than 65535 bytes"
    return None
