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

__all__ = ["Check", "compile_check", "lean"]

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
