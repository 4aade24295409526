"""Rows of `transactions.sqlite` -> the store's objects, one row at a time.

Stored data must never stop a start: a row written by an older version, damaged on disk or
holding text that no longer encodes (a lone surrogate) is checked field by field here. Text
is decoded leniently (invalid UTF-8 and lone surrogates become U+FFFD: a transaction with a
damaged tag is still billed); a row whose numbers or types are wrong is skipped, and the
caller logs it with its key. Pure: rows in, objects and reasons out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from drivers.ocpp.core.caps import SourceLimit
from drivers.ocpp.core.transactions import StoredTransaction
from drivers.ocpp.strict_json import valid_text

__all__ = ["Skipped", "lenient_text", "load_identities", "load_limits", "load_transactions"]


@dataclass(frozen=True, slots=True)
class Skipped:
    table: str
    key: str
    """The row's key as far as it reads (for the log line)."""
    reason: str


class _Bad(ValueError):
    pass


def lenient_text(raw: bytes) -> str:
    """Stored bytes as valid text (a sqlite3 text_factory): never raises."""
    return valid_text(raw.decode("utf-8", "replace"))


def _text(value: Any, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if isinstance(value, bytes):
        return lenient_text(value)
    if isinstance(value, str):
        return valid_text(value)
    raise _Bad(f"text expected, found {type(value).__name__}")


def _required_text(value: Any) -> str:
    text = _text(value)
    assert text is not None
    return text


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _Bad(f"integer expected, found {type(value).__name__}")


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise _Bad(f"finite number expected, found {value!r:.40}")


def _key(row: Sequence[Any], width: int) -> str:
    parts = []
    for value in row[:width]:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        parts.append(repr(value)[:60])
    return "/".join(parts)


def load_transactions(
    rows: Iterable[Sequence[Any]],
) -> tuple[list[StoredTransaction], list[Skipped]]:
    """Rows in `StoredTransaction` field order."""
    loaded, skipped = [], []
    for row in rows:
        try:
            (charger, tx_id, evse, tag, start, last, started, stopped, reason, ended, key) = row[
                :11
            ]
            export_start, export_last = row[11:13] if len(row) >= 13 else (None, None)
            recorded = row[13] if len(row) >= 14 else 1
            loaded.append(
                StoredTransaction(
                    _required_text(charger),
                    _required_text(tx_id),
                    _int(evse),
                    _text(tag, optional=True),
                    _number(start),
                    _number(last),
                    _number(started),
                    _number(stopped),
                    _text(reason, optional=True),
                    bool(_int(ended)),
                    _text(key, optional=True),
                    _number(export_start),
                    _number(export_last),
                    bool(_int(recorded)),
                )
            )
        except (_Bad, ValueError) as exc:
            skipped.append(Skipped("transactions", _key(row, 2), str(exc)))
    return loaded, skipped


def load_identities(rows: Iterable[Sequence[Any]]) -> tuple[dict[str, str], list[Skipped]]:
    """(charger_id, identity JSON) rows; the JSON is re-encoded valid and strict."""
    loaded, skipped = {}, []
    for row in rows:
        try:
            charger, identity = row
            data = json.loads(_required_text(identity))
            if not isinstance(data, dict):
                raise _Bad("identity is not a JSON object")
            clean = {valid_text(str(k)): _identity_value(v) for k, v in data.items()}
            loaded[_required_text(charger)] = json.dumps(clean, sort_keys=True, allow_nan=False)
        except (_Bad, ValueError) as exc:
            skipped.append(Skipped("chargers", _key(row, 1), str(exc)[:200]))
    return loaded, skipped


def _identity_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return valid_text(value)
    raise _Bad(f"identity field of type {type(value).__name__}")


def load_limits(rows: Iterable[Sequence[Any]]) -> tuple[list[SourceLimit], list[Skipped]]:
    """(charger_id, evse, power_w, current_a, expires_at, source) rows."""
    loaded, skipped = [], []
    for row in rows:
        try:
            charger, evse, power, current, expires, source = row
            loaded.append(
                SourceLimit(
                    _required_text(charger),
                    _int(evse),
                    _number(power),
                    _number(current),
                    _number(expires),
                    _required_text(source),
                )
            )
        except (_Bad, ValueError) as exc:
            skipped.append(Skipped("source_limits", _key(row, 2), str(exc)))
    return loaded, skipped
