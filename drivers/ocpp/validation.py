"""Payload validation against the JSON schemas shipped with the `ocpp` package.

Every schema is read when the driver starts (`preload`), never on first use: a session must
not depend on opening a file (which fails once the process runs out of descriptors). The
schemas of handled messages are compiled to a yes/no check of the parsed JSON
(schema_check.compile_verdict: a set comparison per object, a set lookup per enum) and with
`fastjsonschema` (all of Draft 4, generated Python, leaned by schema_check.py: a few µs for a
typical MeterValues where `jsonschema` walks the schema in ~170 µs). The yes/no check answers
"valid" for nearly every message; what it refuses goes to the compiled check and then to
`jsonschema`, which explains it and applies the tolerances below.

Validation runs inline (no executor hop: a thread round trip costs more than the check) and
maps the first schema violation onto the CALLERROR kind the standard names for it (1.6
§4.2.3, 2.0.1 Part 4 §4.3). Two things real chargers do are tolerated instead of refused,
because refusing them would lose data the charger cannot resend differently:
- properties the schema does not know (vendor extensions; 2.x has customData for that, 1.6
  has nothing) -- the extra fields are ignored;
- inside a SampledValue: a `value` of the wrong JSON type (numbers in 1.6, strings in 2.x) and
  measurands, units, contexts, phases or locations the enum does not list -- the meter
  translation reads both kinds of value and skips what it does not know, sample by sample;
- 1.6 `meterStart` / `meterStop` / `transactionId` as a decimal number or a numeric string
  (the schema says integer): refusing a StopTransaction for it would make the charger resend
  it forever and lose the session.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from importlib import resources
from typing import Any

import fastjsonschema
from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError

from drivers.ocpp.errors import SchemaViolation
from drivers.ocpp.frames import ErrorKind
from drivers.ocpp.schema_check import Check, Verdict, compile_check, compile_verdict
from gateway.foundation.model.versions import OcppVersion

__all__ = [
    "SchemaViolation",
    "is_known_action",
    "outgoing_violation",
    "preload",
    "request_validator",
    "violation",
]

_DIRS = {OcppVersion.V16: "v16", OcppVersion.V201: "v201", OcppVersion.V21: "v21"}
_KINDS: dict[str, ErrorKind] = {
    "type": "type",
    "maxLength": "type",
    "minLength": "type",
    "required": "occurrence",
    "minItems": "occurrence",
    "maxItems": "occurrence",
    "enum": "property",
    "minimum": "property",
    "maximum": "property",
    "multipleOf": "property",
    "pattern": "property",
    "format": "property",
}


_LENIENT_IN_SAMPLES = frozenset({"type", "enum", "maxLength"})
_NUMERIC_FIELDS = frozenset({"meterStart", "meterStop", "transactionId"})


def _schema_name(version: OcppVersion, action: str, response: bool) -> str:
    if version == OcppVersion.V16:
        return f"{action}{'Response' if response else ''}.json"
    return f"{action}{'Response' if response else 'Request'}.json"


@functools.cache
def _schema_files(version: OcppVersion) -> frozenset[str]:
    folder = resources.files("ocpp") / _DIRS[version] / "schemas"
    return frozenset(p.name for p in folder.iterdir())


def is_known_action(version: OcppVersion, action: str) -> bool:
    """Whether `action` exists in that OCPP version at all (NotSupported vs NotImplemented)."""
    return _schema_name(version, action, False) in _schema_files(version)


def _read_schema(version: OcppVersion, name: str, parse_float: Callable[[str], Any] = float) -> Any:
    path = resources.files("ocpp") / _DIRS[version] / "schemas" / name
    return json.loads(path.read_text(encoding="utf-8-sig"), parse_float=parse_float)


@functools.cache
def request_validator(
    version: OcppVersion, action: str, response: bool = False
) -> Draft4Validator | None:
    name = _schema_name(version, action, response)
    if name not in _schema_files(version):
        return None
    return Draft4Validator(_read_schema(version, name))


_FREQUENT_COMMANDS = ("SetChargingProfile", "ClearChargingProfile")
"""Sent all day by the site controller and control centres: compiled at start, not first use."""


def preload(handled: Mapping[OcppVersion, Iterable[str]]) -> int:
    """Read every schema of every version, compile the handled actions' request checks.

    `handled`: version -> actions a session answers. Returns the number of schemas loaded.
    """
    loaded = 0
    for version in _DIRS:
        for name in sorted(_schema_files(version)):
            action = name.removesuffix(".json").removesuffix("Response").removesuffix("Request")
            response = name.endswith("Response.json")
            # Called exactly as the sessions call them: the cache keys on the arguments given.
            if response:
                validator = request_validator(version, action, True)
            else:
                _outgoing_validator(version, action)
                validator = request_validator(version, action)
            if validator is not None:
                loaded += 1
        for action in (*handled.get(version, ()), *_FREQUENT_COMMANDS):
            validator = request_validator(version, action)
            if validator is not None:
                _fast_check(validator)
                _verdict(validator)
    return loaded


_MAX_TOLERATED = 1e15
"""A tolerated 1.6 number beyond this (Wh, or an id) is no reading: refused, never scaled."""


def _numeric(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return False
    return isinstance(value, float) and math.isfinite(value) and abs(value) <= _MAX_TOLERATED


def _number_like(value: Any) -> bool:
    """A number or numeric text, finite or not (`"NaN"`, `1e300`): then out of range."""
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)


def _tolerated(error: ValidationError) -> bool:
    if error.validator == "additionalProperties":
        return True
    path = error.absolute_path
    if error.validator == "type" and path and path[-1] in _NUMERIC_FIELDS:
        return _numeric(error.instance)

    return error.validator in _LENIENT_IN_SAMPLES and "sampledValue" in error.absolute_path


_DRAFT4 = "http://json-schema.org/draft-04/schema#"
_FAST: dict[int, Check] = {}
"""Compiled checks by validator identity (validators are cached for the process lifetime)."""


def _fast_check(validator: Draft4Validator) -> Check:
    key = id(validator)
    check = _FAST.get(key)
    if check is None:
        # Draft 4 for every version, as the explaining Draft4Validator reads them (the 2.x
        # files say draft-06, where 1.0 would be an integer). Defaults are not filled in (the
        # payload stays the charger's, as sent); formats are not asserted (nor by jsonschema).
        # No detailed exceptions: jsonschema explains failures, and the generated code of the
        # handled actions shrinks from ~33 MB to ~8 MB of the daemon's memory.
        check = compile_check({**validator.schema, "$schema": _DRAFT4})
        _FAST[key] = check
    return check


_VERDICTS: dict[int, Verdict | None] = {}
"""Yes/no checks by validator identity, None where the schema is not translated."""


def _verdict(validator: Draft4Validator) -> Verdict | None:
    key = id(validator)
    if key not in _VERDICTS:
        _VERDICTS[key] = compile_verdict(validator.schema)
    return _VERDICTS[key]


def violation(validator: Draft4Validator, payload: dict[str, Any]) -> SchemaViolation | None:
    """The first violation that is not tolerated, or None when the payload may be handled.

    The yes/no check (schema_check.compile_verdict) answers for valid payloads (nearly all);
    what it refuses goes through the compiled check and `jsonschema`, which explains it.
    """
    verdict = _VERDICTS.get(id(validator)) or _verdict(validator)
    if verdict is not None and verdict(payload):
        return _implausible(payload)
    try:
        _fast_check(validator)(payload)
    except fastjsonschema.JsonSchemaValueException:
        pass
    else:
        return _implausible(payload)
    for error in validator.iter_errors(payload):
        if _tolerated(error):
            continue
        where = "/".join(str(p) for p in error.absolute_path) or "payload"
        kind = _KINDS.get(str(error.validator), "format")
        if kind == "type" and where in _NUMERIC_FIELDS and _number_like(error.instance):
            return SchemaViolation(
                "property", f"{where}: {error.instance!r:.40} is out of range", where
            )
        return SchemaViolation(kind, f"{where}: {error.message}"[:200], where)
    return _implausible(payload)


def _implausible(payload: dict[str, Any]) -> SchemaViolation | None:
    """A meter reading or id that no float arithmetic should meet (1e300 Wh x 1000 = inf)."""
    for name in _NUMERIC_FIELDS.intersection(payload):
        value = payload[name]
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                continue  # not meant as a number (2.x ids are text): the schema judged it
        if isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, float) and not _numeric(value):
            return SchemaViolation("property", f"{name}: {str(value)[:40]} is out of range", name)
    return None


@functools.cache
def _outgoing_validator(version: OcppVersion, action: str) -> Draft4Validator | None:
    name = _schema_name(version, action, False)
    if name not in _schema_files(version):
        return None
    return Draft4Validator(_read_schema(version, name, parse_float=Decimal))


def outgoing_violation(version: OcppVersion, action: str, payload: dict[str, Any]) -> str | None:
    """Check a CALL the gateway is about to send (a bug here must not reach a charger).

    Numbers are compared as decimals: OCPP 1.6 limits are `multipleOf 0.1`, which binary
    floats such as 7.1 fail.
    """
    validator = _outgoing_validator(version, action)
    if validator is None:
        return f"no {action} in OCPP {version}"
    # The compiled check (fastjsonschema compares `multipleOf` as exact decimals too) answers
    # for a valid command in µs; jsonschema on a decimal copy explains an invalid one.
    plain = request_validator(version, action)
    if plain is not None:
        try:
            _fast_check(plain)(payload)
        except fastjsonschema.JsonSchemaValueException:
            pass
        else:
            return None
    exact = json.loads(json.dumps(payload), parse_float=Decimal)
    error = next(iter(validator.iter_errors(exact)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "payload"
    return f"{where}: {error.message}"
