"""Reading a charger's JSON so that nothing it sends can break what comes after.

`json.loads` accepts what strict JSON and UTF-8 do not: `NaN`, `Infinity`, `1e999` (parsed
as infinity), lone surrogate escapes (`"\\ud800"`, which no UTF-8 encoder will write again),
integers of thousands of digits, and nesting deep enough to raise RecursionError. Any of
those stored or published later stops the outbox, the transaction store or the next start.
So a frame is read here once, at the edge:
- `NaN` / `Infinity` / non-finite numbers and integers beyond 20 digits are refused (the
  CALL gets PropertyConstraintViolation);
- lone surrogates are replaced by U+FFFD (the text is kept, made valid: refusing a
  BootNotification for a broken vendor string would keep the charger out for good);
- nesting deeper than `max_depth` and more than `max_elements` values are refused
  (FormationViolation / OccurrenceConstraintViolation), which bounds the work every later
  step does on one message.
Pure: no sockets.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

import orjson

__all__ = ["FrameLimits", "RefusedJson", "loads_reference", "loads_strict", "valid_text"]

RefusalKind = Literal["format", "property", "occurrence"]

_MAX_INT_DIGITS = 20
"""Enough for every 64-bit id; float() of anything longer could overflow later."""
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SCAN = bytes.maketrans(b"012345678[", b"999999999{")
"""Digits as nines (a run of 19 is one `in` away) and every opening bracket as `{` (one count)."""
_LONG_RUN = b"9" * 19


@dataclass(frozen=True, slots=True)
class FrameLimits:
    max_elements: int = 10_000
    """JSON values (objects, arrays, scalars) in one message."""
    max_depth: int = 32
    """Nesting of objects and arrays (OCPP messages use fewer than 10 levels)."""


class RefusedJson(ValueError):
    """The text parses (or nearly) but must not be handled; `kind` picks the CALLERROR."""

    def __init__(self, kind: RefusalKind, reason: str) -> None:
        super().__init__(reason)
        self.kind: RefusalKind = kind
        self.reason = reason


def _refuse_constant(name: str) -> Any:
    raise RefusedJson("property", f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise RefusedJson("property", f"number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise RefusedJson("property", f"integer of {len(text)} digits is out of range")
    return int(text)


_DECODER = json.JSONDecoder(
    parse_float=_finite_float, parse_int=_bounded_int, parse_constant=_refuse_constant
)


def valid_text(text: str) -> str:
    """`text` with lone surrogates replaced by U+FFFD (always encodable as UTF-8)."""
    return _SURROGATE.sub("\ufffd", text)


def loads_strict(text: str, limits: FrameLimits) -> Any:
    """Parse `text`; ValueError when it is not JSON, RefusedJson when it must be refused.

    orjson reads an ordinary frame (no Python call per number: a quarter of the time); it
    refuses by itself what strict reading refuses (NaN, infinities, lone surrogates, broken
    JSON), and then the reference reading below says precisely why. A run of 19 or more
    digits goes to the reference too: orjson reads integers beyond 64 bits as floats, which
    strict reading refuses or keeps as integers. The shape is walked only when the text
    could break a bound: no text has more values than characters (each value starts at its
    own character), nor nests deeper than it has brackets.
    """
    try:
        data = text.encode()
    except UnicodeEncodeError:
        return loads_reference(text, limits)
    scanned = data.translate(_SCAN)
    if _LONG_RUN in scanned:
        return loads_reference(text, limits)
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return loads_reference(text, limits)
    if len(data) > limits.max_elements or scanned.count(b"{") > limits.max_depth:
        _check_shape(value, limits)
    return value


def loads_reference(text: str, limits: FrameLimits) -> Any:
    """The strict reading itself (the stdlib decoder with checking hooks)."""
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise RefusedJson("format", "JSON nested too deeply") from None
    _check_shape(value, limits)
    if _SURROGATE_ESCAPE.search(text) is not None:
        value = _scrub(value)
    return value


def _check_shape(value: Any, limits: FrameLimits) -> None:
    """Count values and depth without recursion (the depth is not known to be safe yet)."""
    if type(value) is not dict and type(value) is not list:
        return
    count = 1
    stack: list[tuple[Any, int]] = [(value, 1)]
    max_depth, max_elements = limits.max_depth, limits.max_elements
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise RefusedJson("format", f"JSON nested deeper than {max_depth} levels")
        children = node.values() if type(node) is dict else node
        count += len(children)
        if count > max_elements:
            raise RefusedJson("occurrence", f"message has more than {max_elements} values")
        for child in children:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))


def _scrub(value: Any) -> Any:
    """Replace lone surrogates in every string and key (depth already bounded)."""
    if type(value) is str:
        return valid_text(value)
    if type(value) is list:
        return [_scrub(v) for v in value]
    if type(value) is dict:
        return {valid_text(k): _scrub(v) for k, v in value.items()}
    return value
