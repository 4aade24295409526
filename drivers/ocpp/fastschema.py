"""A compiled yes/no check for the Draft 4 subset the OCPP JSON schemas use.

`jsonschema` walks a schema for every message and costs ~170 µs for a typical MeterValues,
more than all the gateway's other work on that message. The OCPP schemas use a handful of
keywords, so they compile into nested closures that answer "valid or not" in a few µs. Only
when the answer is "not valid" does the caller run `jsonschema` for the detailed error (and
for the tolerance rules in validation.py) -- rare, so its cost does not matter. A schema
using a keyword not implemented here does not compile (None), and the caller keeps using
`jsonschema` for it: this check never accepts what `jsonschema` would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Check", "compile_schema"]

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "id",
        "description",
        "javaType",
        "comment",
        "title",
        "default",
        "format",
        "additionalItems",
        "tsEnumNames",
    }
)
"""Keywords without effect on validity here (`format` is not asserted by jsonschema's
Draft4Validator without a format checker; `additionalItems` only applies to tuple `items`)."""


class _Unsupported(Exception):
    pass


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_integer(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": _is_integer,
}


def compile_schema(schema: Mapping[str, Any]) -> Check | None:
    """The check for `schema`, or None when it uses something this module does not handle."""
    definitions: Mapping[str, Any] = schema.get("definitions", {})
    compiled: dict[str, Check] = {}

    def ref(target: str) -> Check:
        prefix = "#/definitions/"
        if not target.startswith(prefix) or target[len(prefix) :] not in definitions:
            raise _Unsupported(target)
        name = target[len(prefix) :]
        if name not in compiled:
            compiled[name] = lambda v: compiled[name](v)  # placeholder for recursion
            compiled[name] = build(definitions[name])
        return lambda v: compiled[name](v)

    def build(node: Mapping[str, Any]) -> Check:
        if "$ref" in node:  # Draft 4: siblings of $ref are ignored
            return ref(node["$ref"])
        checks: list[Check] = []
        for key, value in node.items():
            if key in _ANNOTATIONS or key == "definitions":
                continue
            checks.append(_keyword(key, value, node, build))
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(check(v) for check in checks)

    try:
        return build(schema)
    except _Unsupported:
        return None


def _keyword(
    key: str,
    value: Any,
    node: Mapping[str, Any],
    build: Callable[[Mapping[str, Any]], Check],
) -> Check:
    if key == "type":
        names: list[str] = value if isinstance(value, list) else [value]
        tests = [_TYPES[n] for n in names]
        return tests[0] if len(tests) == 1 else lambda v: any(t(v) for t in tests)
    if key == "properties":
        props = {name: build(sub) for name, sub in value.items()}
        return lambda v: (
            not isinstance(v, dict)
            or all(name not in v or check(v[name]) for name, check in props.items())
        )
    if key == "required":
        required = tuple(value)
        return lambda v: not isinstance(v, dict) or all(n in v for n in required)
    if key == "additionalProperties":
        if value is True:
            return lambda v: True
        if value is not False or "patternProperties" in node:
            raise _Unsupported(key)
        allowed = frozenset(node.get("properties", {}))
        return lambda v: not isinstance(v, dict) or allowed.issuperset(v)
    if key == "enum":
        if not all(isinstance(e, str) for e in value):
            raise _Unsupported(key)
        members = frozenset(value)
        return lambda v: isinstance(v, str) and v in members
    if key == "items":
        if not isinstance(value, dict):
            raise _Unsupported(key)
        item = build(value)
        return lambda v: not isinstance(v, list) or all(item(x) for x in v)
    if key in ("minItems", "maxItems"):
        n = int(value)
        if key == "minItems":
            return lambda v: not isinstance(v, list) or len(v) >= n
        return lambda v: not isinstance(v, list) or len(v) <= n
    if key in ("minLength", "maxLength"):
        n = int(value)
        if key == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= n
        return lambda v: not isinstance(v, str) or len(v) <= n
    if key in ("minimum", "maximum"):
        if node.get("exclusiveMinimum") or node.get("exclusiveMaximum"):
            raise _Unsupported(key)
        bound = value
        if key == "minimum":
            return lambda v: not _is_number(v) or v >= bound
        return lambda v: not _is_number(v) or v <= bound
    raise _Unsupported(key)
