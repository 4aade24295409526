"""OCPP schemas compiled to Python by fastjsonschema, with two costs of its output removed.

fastjsonschema writes an `enum` as a chain `isinstance(v, str) and v == 'A' or
isinstance(v, str) and v == 'B' or ...` (22 comparisons to accept `SoC`), and builds the
path of every nested value for its error message before each nested call
(`(name_prefix or "data") + ".sampledValue[{i}]".format(**locals())`), valid or not. Here
the chain becomes one tuple membership test (the same `==` comparisons, in C) and the
nested calls get no path: a failing check raises all the same, and validation.py asks
`jsonschema` to explain it. A definition that is only a string enum (2.x measurands,
contexts, phases...) is tested in place instead of called. Together this roughly halves the
check of a MeterValues.

Both rewrites are textual and checked by tests/drivers/ocpp/test_schema_check.py against
fastjsonschema's own output on valid and broken payloads of every handled action. Code
they do not recognise is left as generated: slower, never different.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import fastjsonschema

__all__ = ["Check", "Unsupported", "Verdict", "compile_check", "compile_verdict", "lean"]

Check = Callable[[Any], Any]

_STR_ENUM = re.compile(
    r"\(isinstance\((\w+), str\) and \1 == ('[^'\\]*')"
    r"(?: or isinstance\(\1, str\) and \1 == '[^'\\]*')*\)"
)
_FIRST_FUNCTION = re.compile(r"^def (\w+)\(", re.MULTILINE)
"""The schema's own function comes first (named after its `$id`), its definitions after."""
_LITERAL = re.compile(r"== ('[^'\\]*')")
_NESTED_PATH = re.compile(
    r'custom_formats, \(name_prefix or "data"\) \+ "[^"\\]*"(?:\.format\(\*\*locals\(\)\))?\)'
)


def _as_membership(match: re.Match[str]) -> str:
    values = _LITERAL.findall(match.group(0))
    return f"({match.group(1)} in ({', '.join(values)},))"


_ENUM_FUNCTION = re.compile(
    r"^def (validate___definitions_\w+)\(data, custom_formats=\{\}, name_prefix=None\):\n"
    r"    if not isinstance\(data, \(str\)\):\n"
    r"        raise JsonSchemaValueException\([^\n]*\)\n"
    r"    if not \(data in (\(.*,\))\):\n"
    r"        raise JsonSchemaValueException\([^\n]*\)\n"
    r"    data_is_dict = isinstance\(data, dict\)\n"
    r"    if data_is_dict:\n"
    r"        data_keys = set\(data.keys\(\)\)\n"
    r"        if data_keys:\n"
    r"            raise JsonSchemaValueException\([^\n]*\)\n"
    r"    return data\n",
    re.MULTILINE,
)
"""A definition that is only a string enum (its dict branch cannot run for a string)."""
_CALL = re.compile(
    r"^( +)(validate___definitions_\w+)\((\w+), custom_formats, None\)$", re.MULTILINE
)


def _inline_enums(code: str) -> str:
    """Calls of string-enum definitions become the test itself (one call less per value)."""
    enums = {m.group(1): m.group(2) for m in _ENUM_FUNCTION.finditer(code)}

    def inline(match: re.Match[str]) -> str:
        indent, name, value = match.groups()
        values = enums.get(name)
        if values is None:
            return match.group(0)
        return (
            f"{indent}if not (isinstance({value}, str) and {value} in {values}):\n"
            f'{indent}    raise JsonSchemaValueException("{name}")'
        )

    return _CALL.sub(inline, code) if enums else code


def lean(code: str) -> str:
    """fastjsonschema's generated code with the enum chains and nested paths rewritten."""
    code = _STR_ENUM.sub(_as_membership, code)
    code = _NESTED_PATH.sub("custom_formats, None)", code)
    return _inline_enums(code)


def compile_check(schema: dict[str, Any]) -> Check:
    """A check that returns for a valid payload and raises JsonSchemaValueException.

    Defaults are not filled in (the payload stays as the charger sent it), formats are not
    asserted, and there are no detailed exceptions (jsonschema explains failures).
    """
    code = fastjsonschema.compile_to_code(
        schema, use_default=False, use_formats=False, detailed_exceptions=False
    )
    root = _FIRST_FUNCTION.search(code)
    if root is None:
        raise ValueError("fastjsonschema generated no function")
    namespace: dict[str, Any] = {}
    exec(compile(lean(code), "<ocpp schema check>", "exec"), namespace)
    check: Check = namespace[root.group(1)]
    return check


Verdict = Callable[[Any], bool]
"""True when JSON data (as `loads_strict` returns it) satisfies the schema."""


class Unsupported(ValueError):
    """The schema uses a keyword (or a form of one) `compile_verdict` does not translate."""


_IGNORED = frozenset(
    {"description", "javaType", "comment", "title", "$schema", "$id", "id", "default", "format"}
)
"""Annotations here: defaults are not filled in and formats not asserted (as in the checks
above)."""
_TYPES = {
    "string": "type({v}) is str",
    "integer": "type({v}) is int",
    "number": "(type({v}) is float or type({v}) is int)",
    "boolean": "type({v}) is bool",
    "object": "type({v}) is dict",
    "array": "type({v}) is list",
    "null": "{v} is None",
}
"""Draft 4 types over the only types JSON data has here (no tuples, Decimals or
subclasses): `bool` is no integer, `1.0` is no integer."""
_APPLIES: dict[str, frozenset[str]] = {
    "string": frozenset({"maxLength", "minLength", "pattern"}),
    "number": frozenset(
        {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
    ),
    "array": frozenset({"items", "additionalItems", "minItems", "maxItems", "uniqueItems"}),
    "object": frozenset(
        {
            "properties",
            "required",
            "additionalProperties",
            "patternProperties",
            "minProperties",
            "maxProperties",
            "dependencies",
        }
    ),
}
"""Draft 4 keywords that test only values of one type (any other value passes them)."""
_APPLIES["integer"] = _APPLIES["number"]
_TYPED = frozenset().union(*_APPLIES.values())
_TRANSLATED = frozenset(
    {
        "type",
        "enum",
        "$ref",
        "definitions",
        "maxLength",
        "minLength",
        "minimum",
        "maximum",
        "items",
        "additionalItems",
        "minItems",
        "maxItems",
        "properties",
        "required",
        "additionalProperties",
    }
)
_IN_PLACE = frozenset({"string", "integer", "number", "boolean", "null"})
"""Definitions of these types are tested where they are used, not called."""


class _Writer:
    """Generated Python for one schema: a function per object or array definition, the rest
    tested in place."""

    def __init__(self, definitions: dict[str, Any]) -> None:
        self.definitions = definitions
        self.constants: dict[str, frozenset[str]] = {}
        self.functions: dict[str, list[str]] = {}
        self.names: dict[str, str] = {}
        self.counter = 0

    def constant(self, values: frozenset[str]) -> str:
        name = f"_S{len(self.constants)}"
        self.constants[name] = values
        return name

    def variable(self) -> str:
        self.counter += 1
        return f"x{self.counter}"

    def function(self, ref: Any) -> tuple[str | None, Any]:
        """The function testing a `#/definitions/...` (None: tested in place), and its schema."""
        if not isinstance(ref, str) or not ref.startswith("#/definitions/"):
            raise Unsupported(f"$ref {ref!r}")
        key = ref.removeprefix("#/definitions/")
        if key not in self.definitions:
            raise Unsupported(f"$ref {ref!r}")
        target = self.definitions[key]
        if isinstance(target, dict) and "$ref" not in target and target.get("type") in _IN_PLACE:
            return None, target
        name = self.names.get(key)
        if name is None:
            name = self.names[key] = f"_d{len(self.names)}"
            self.functions[name] = []  # named first: a definition may refer to itself
            body = self.node(target, "d", 1)
            self.functions[name] = [f"def {name}(d):", *body, "    return True"]
        return name, target

    def node(self, node: Any, v: str, depth: int) -> list[str]:
        """Statements that `return False` unless `v` satisfies `node`."""
        pad = "    " * depth
        if not isinstance(node, dict):
            raise Unsupported("a schema that is not an object")
        if "$ref" in node:  # as in fastjsonschema: a $ref overrides its siblings
            name, target = self.function(node["$ref"])
            if name is None:
                return self.node(target, v, depth)
            return [f"{pad}if not {name}({v}):", f"{pad}    return False"]
        kind = node.get("type")
        if kind is not None and kind not in _TYPES:
            raise Unsupported(f"type {kind!r}")
        applies = _APPLIES.get(kind, frozenset()) if kind is not None else _TYPED
        for word in node:
            if word in _IGNORED or (word in _TYPED and word not in applies):
                continue  # an annotation, or a keyword about values the type already refuses
            if word not in _TRANSLATED or (kind is None and word in _TYPED):
                raise Unsupported(f"keyword {word!r}")
        lines: list[str] = []
        if "enum" in node:
            values = node["enum"]
            if not isinstance(values, list) or not all(type(x) is str for x in values):
                raise Unsupported("an enum of other than strings")
            # A str is in the set or not; no other JSON value equals a str, and an unhashable
            # one raises TypeError, which the entry point answers with False.
            lines += [
                f"{pad}if {v} not in {self.constant(frozenset(values))}:",
                f"{pad}    return False",
            ]
        if kind is not None and not (kind == "string" and "enum" in node):  # the set says it
            lines += [f"{pad}if not {_TYPES[kind].format(v=v)}:", f"{pad}    return False"]
        if kind == "string":
            lines += _lengths(node, v, pad, "Length")
        elif kind in ("integer", "number"):
            lines += _bounds(node, v, pad)
        elif kind == "array":
            lines += _lengths(node, v, pad, "Items") + self.items(node, v, depth)
        elif kind == "object":
            lines += self.object(node, v, depth)
        return lines

    def items(self, node: dict[str, Any], v: str, depth: int) -> list[str]:
        items = node.get("items", {})
        if not isinstance(items, dict):  # a schema per position (then additionalItems counts)
            raise Unsupported("items that are not one schema")
        item = self.variable()
        body = self.node(items, item, depth + 1)
        return [f"{'    ' * depth}for {item} in {v}:", *body] if body else []

    def object(self, node: dict[str, Any], v: str, depth: int) -> list[str]:
        pad = "    " * depth
        properties = node.get("properties", {})
        required = node.get("required", [])
        extra = node.get("additionalProperties", True)
        if not isinstance(properties, dict) or not isinstance(required, list):
            raise Unsupported("properties or required")
        if extra is not True and extra is not False:
            raise Unsupported("additionalProperties that is a schema")
        if not all(type(name) is str for name in required):
            raise Unsupported("required")
        lines = []
        for name in required:
            lines += [f"{pad}if {name!r} not in {v}:", f"{pad}    return False"]
        # No other keys: the known ones found are counted on the way (every optional one is
        # looked up anyway) and the count compared with the object's size at the end, which
        # costs less than a keys view tested against the set of names.
        counted = extra is False and set(required) <= set(properties)
        count = self.variable() if counted else ""
        if counted:
            lines.append(f"{pad}{count} = {len(set(required))}")
        elif extra is False:
            allowed = self.constant(frozenset(properties))
            lines += [f"{pad}if not {v}.keys() <= {allowed}:", f"{pad}    return False"]
        for name, sub in properties.items():
            value = self.variable()
            body = self.node(sub, value, depth + 1)
            if name in required:
                lines += [f"{pad}{value} = {v}[{name!r}]", *(line[4:] for line in body)] if body else []
            elif body or counted:
                lines.append(f"{pad}if {name!r} in {v}:")
                if counted:
                    lines.append(f"{pad}    {count} += 1")
                if body:
                    lines += [f"{pad}    {value} = {v}[{name!r}]", *body]
        if counted:
            lines += [f"{pad}if len({v}) != {count}:", f"{pad}    return False"]
        return lines


def _lengths(node: dict[str, Any], v: str, pad: str, word: str) -> list[str]:
    """`maxLength`/`minLength` of a string, `maxItems`/`minItems` of an array."""
    lines = []
    for bound, op in ((f"max{word}", ">"), (f"min{word}", "<")):
        if bound in node:
            if type(node[bound]) is not int:
                raise Unsupported(f"{bound} {node[bound]!r}")
            lines += [f"{pad}if len({v}) {op} {node[bound]}:", f"{pad}    return False"]
    return lines


def _bounds(node: dict[str, Any], v: str, pad: str) -> list[str]:
    lines = []
    for bound, op in (("minimum", "<"), ("maximum", ">")):
        if bound in node:
            if type(node[bound]) not in (int, float):
                raise Unsupported(f"{bound} {node[bound]!r}")
            lines += [f"{pad}if {v} {op} {node[bound]!r}:", f"{pad}    return False"]
    return lines


def compile_verdict(schema: dict[str, Any]) -> Verdict | None:
    """A yes/no check of JSON data against `schema`; None when it uses what is not translated.

    The verdict of `compile_check` on what `loads_strict` returns (dicts, lists, str, int,
    float, bool, None), in fewer steps: an object without other keys has the known keys it
    holds counted and the count compared with its size, an enum is a set lookup, nothing is
    raised on the way.
    Only what the OCPP schemas use is translated (one `type`, `properties`, `required`,
    `additionalProperties` true or false, string `enum`, `maxLength`/`minLength`, `items` as
    one schema, `minItems`/`maxItems`, `minimum`/`maximum`, local `$ref`); a schema with
    anything else (`multipleOf`, `pattern`, ...) gets None and keeps `compile_check`.
    """
    definitions = schema.get("definitions", {})
    if not isinstance(definitions, dict):
        return None
    writer = _Writer(definitions)
    try:
        root = writer.node(schema, "d", 1)
    except Unsupported:
        return None
    lines = ["def _root(d):", *root, "    return True"]
    for body in writer.functions.values():
        lines += body
    lines += [
        "def verdict(d):",
        "    try:",
        "        return _root(d)",
        "    except TypeError:",  # an unhashable value where an enum is
        "        return False",
    ]
    namespace: dict[str, Any] = dict(writer.constants)
    exec(compile("\n".join(lines) + "\n", "<ocpp verdict>", "exec"), namespace)
    verdict: Verdict = namespace["verdict"]
    return verdict
