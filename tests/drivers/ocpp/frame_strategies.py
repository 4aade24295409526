"""Hypothesis strategies for OCPP-J frames: valid-looking ones built from the shapes of the
`ocpp` package's JSON schemas, and broken ones (random JSON, wrong types, huge and
non-finite numbers, lone surrogates, deep nesting, frames that are not frames)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from hypothesis import strategies as st

from drivers.ocpp.session_v2 import Session2
from drivers.ocpp.session_v16 import Session16

VERSIONS = ("1.6", "2.0.1", "2.1")
_DIRS = {"1.6": "v16", "2.0.1": "v201", "2.1": "v21"}
_TIMESTAMPS = st.sampled_from(
    ["2026-03-01T08:00:00Z", "2026-03-01T08:00:00.123+02:00", "1970-01-01T00:00:00Z", "not a time"]
)
_NUMBERS = st.one_of(
    st.integers(-10, 10_000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 1e300, -1e300, 2**63, 10**19, 5e-324]),
)


def actions(version: str) -> list[str]:
    cls = Session16 if version == "1.6" else Session2
    return sorted(cls.HANDLERS)


@functools.cache
def _schema(version: str, action: str) -> dict[str, Any]:
    name = f"{action}.json" if version == "1.6" else f"{action}Request.json"
    path = resources.files("ocpp") / _DIRS[version] / "schemas" / name
    return json.loads(path.read_text(encoding="utf-8-sig"))  # type: ignore[no-any-return]


def _from_schema(node: dict[str, Any], defs: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if "$ref" in node:
        return st.deferred(lambda: _from_schema(defs[node["$ref"].split("/")[-1]], defs, depth + 1))
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        required = set(node.get("required", ()))
        if depth > 6:
            return st.just({})
        req = {k: _from_schema(v, defs, depth + 1) for k, v in props.items() if k in required}
        opt = {k: _from_schema(v, defs, depth + 1) for k, v in props.items() if k not in required}
        return st.fixed_dictionaries(req, optional=opt)
    if kind == "array":
        item = node.get("items", {})
        return st.lists(_from_schema(item, defs, depth + 1), max_size=3)
    if kind == "string":
        if node.get("format") == "date-time":
            return _TIMESTAMPS
        return st.text(max_size=min(int(node.get("maxLength", 30)), 30))
    if kind == "integer":
        return st.integers(-5, 10_000)
    if kind == "number":
        return _NUMBERS
    if kind == "boolean":
        return st.booleans()
    return _json(2)


def valid_looking(version: str, action: str) -> st.SearchStrategy[dict[str, Any]]:
    schema = _schema(version, action)
    return _from_schema(schema, schema.get("definitions", {}), 0)  # type: ignore[return-value]


def _json(depth: int) -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), _NUMBERS, st.text(max_size=20))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=4 * depth,
    )


def _call_text(uid: str, action: str, payload: Any) -> str:
    return json.dumps([2, uid, action, payload], ensure_ascii=True)


_BAD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "9" * 30, "1" * 5000]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """The frame with one textual damage a careless firmware might do."""
    choice = draw(st.integers(0, 5))
    if choice == 0:  # a number literal replaced by something json.loads takes but JSON is not
        digits = [i for i, c in enumerate(text) if c.isdigit() and text[i - 1] in ":,[ "]
        if digits:
            at = draw(st.sampled_from(digits))
            end = at
            while end < len(text) and (text[end].isdigit() or text[end] in ".eE+-"):
                end += 1
            return text[:at] + draw(st.sampled_from(_BAD_NUMBERS)) + text[end:]
    if choice == 1:  # a lone surrogate inside a string
        quotes = [i for i, c in enumerate(text) if c == '"']
        if quotes:
            at = draw(st.sampled_from(quotes))
            return (
                text[: at + 1]
                + draw(st.sampled_from(["\\ud800", "\\udfff", "\\udbff"]))
                + text[at + 1 :]
            )
    if choice == 2:  # deep nesting in place of a value
        n = draw(st.integers(20, 3000))
        return (
            text.replace("{}", "[" * n + "]" * n, 1)
            if "{}" in text
            else text[:-1] + "," + "[" * n + "]" * n + "]"
        )
    if choice == 3:  # cut short
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    if choice == 4:  # a wrong type somewhere: every string of the payload becomes a number
        return text.replace('"2026', "2026", 1)
    return text


@st.composite
def frames(draw: st.DrawFn, version: str) -> tuple[str, str | None]:
    """(frame text, the CALL's message id when the frame is a CALL that must be answered)."""
    uid = draw(st.text(alphabet="abcdef0123456789-", min_size=1, max_size=36))
    kind = draw(st.integers(0, 5))
    if kind <= 1:  # valid-looking CALL
        action = draw(st.sampled_from(actions(version)))
        text = _call_text(uid, action, draw(valid_looking(version, action)))
        return text, uid
    if kind == 2:  # a damaged valid-looking CALL
        action = draw(st.sampled_from(actions(version)))
        text = draw(mutated(_call_text(uid, action, draw(valid_looking(version, action)))))
        return text, uid if text.startswith(f'[2, "{uid}", ') else None
    if kind == 3:  # a CALL with arbitrary JSON as payload, or an unknown action
        action = draw(st.one_of(st.sampled_from(actions(version)), st.text(max_size=20)))
        return _call_text(uid, action, draw(_json(6))), uid
    if kind == 4:  # any JSON at all
        return json.dumps(draw(_json(8))), None
    return draw(st.text(max_size=200)), None  # any text
