"""OCPP-J RPC frames: parse what a charger sends, and say which CALLERROR a bad frame gets.

The gateway reads every frame itself (instead of leaving it to the `ocpp` library) so that a
broken frame is answered as the standard asks and the connection stays usable:
- not JSON, not an array, unreadable id: 1.6 `FormationViolation`, 2.x `RpcFrameworkError`
  (2.0.1 Part 4 §4.2.3), with message id "-1" when no id can be read;
- an unknown message type number: 2.x `MessageTypeNotSupported`;
- a CALL whose payload is not an object: `FormationViolation` (1.6) / `FormatViolation` (2.x).
A malformed CALLRESULT/CALLERROR is never answered (§4.2.3: only a CALL gets a CALLERROR).
The JSON is read strictly (strict_json.py): non-finite or huge numbers, deep nesting and too
many values are refused with a CALLERROR, lone surrogates made valid text.
Pure: no sockets, so it is tested with plain strings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from drivers.ocpp.strict_json import FrameLimits, RefusedJson, loads_strict
from gateway.foundation.model.versions import OcppVersion

__all__ = [
    "BadFrame",
    "CallFrame",
    "ErrorFrame",
    "ErrorKind",
    "Frame",
    "ResultFrame",
    "SendFrame",
    "call_error",
    "error_code",
    "is_reply",
    "parse_frame",
    "refuse_unread",
]

ErrorKind = Literal[
    "framing",
    "message_type",
    "format",
    "type",
    "property",
    "occurrence",
    "not_implemented",
    "not_supported",
    "internal",
    "security",
    "generic",
]

_CODES: dict[ErrorKind, tuple[str, str, str]] = {
    # kind: (1.6, 2.0.1, 2.1) -- 1.6 §4.2.3 keeps its spelling mistakes (errata 5.1, 5.2).
    "framing": ("FormationViolation", "RpcFrameworkError", "RpcFrameworkError"),
    "message_type": ("FormationViolation", "MessageTypeNotSupported", "MessageTypeNotSupported"),
    "format": ("FormationViolation", "FormatViolation", "FormatViolation"),
    "type": ("TypeConstraintViolation",) * 3,
    "property": ("PropertyConstraintViolation",) * 3,
    "occurrence": (
        "OccurenceConstraintViolation",
        "OccurenceConstraintViolation",
        "OccurrenceConstraintViolation",
    ),
    "not_implemented": ("NotImplemented",) * 3,
    "not_supported": ("NotSupported",) * 3,
    "internal": ("InternalError",) * 3,
    "security": ("SecurityError",) * 3,
    "generic": ("GenericError",) * 3,
}
_VERSION_INDEX = {OcppVersion.V16: 0, OcppVersion.V201: 1, OcppVersion.V21: 2}
_ID_IN_TEXT = re.compile(r'^\s*\[\s*[0-9]+\s*,\s*"([^"\\]{1,36})"')
_REPLY_TYPE_IN_TEXT = re.compile(r"^\s*\[\s*[3-6]\s*,")
_DEFAULT_LIMITS = FrameLimits()
_MAX_ID = 36
"""OCPP-J message ids are at most 36 characters (1.6 §4.1.3, 2.0.1 Part 4 §4.1.3)."""


def error_code(kind: ErrorKind, version: OcppVersion) -> str:
    return _CODES[kind][_VERSION_INDEX.get(version, 1)]


def call_error(
    unique_id: str, kind: ErrorKind, version: OcppVersion, description: str, details: Any = None
) -> str:
    """A CALLERROR frame: `[4, id, code, description, details]`."""
    return json.dumps(
        [4, unique_id, error_code(kind, version), description[:255], details or {}],
        separators=(",", ":"),
    )


@dataclass(frozen=True, slots=True)
class CallFrame:
    unique_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ResultFrame:
    unique_id: str
    payload: Any


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    unique_id: str
    code: str
    description: str
    details: Any


@dataclass(frozen=True, slots=True)
class SendFrame:
    """OCPP 2.1 SEND (type 6): a message that is never answered (e.g. periodic event streams)."""

    action: str
    payload: Any


@dataclass(frozen=True, slots=True)
class BadFrame:
    reason: str
    reply: str | None
    """The CALLERROR to send back, or None when the frame must not be answered."""


Frame = CallFrame | ResultFrame | ErrorFrame | SendFrame | BadFrame


def _salvage_id(text: str) -> str:
    match = _ID_IN_TEXT.match(text)
    return match.group(1) if match else "-1"


def _bad(text: str, kind: ErrorKind, version: OcppVersion, reason: str, uid: str | None = None) -> BadFrame:
    unique_id = uid if uid is not None else _salvage_id(text)
    return BadFrame(reason, call_error(unique_id, kind, version, reason))


def is_reply(raw: str | bytes) -> bool:
    """Whether the text starts like a CALLRESULT/CALLERROR/SEND (never answered)."""
    if isinstance(raw, bytes):
        raw = raw[:16].decode("ascii", "replace")
    return _REPLY_TYPE_IN_TEXT.match(raw) is not None


def refuse_unread(raw: str | bytes, kind: ErrorKind, version: OcppVersion, reason: str) -> str | None:
    """The CALLERROR for a frame refused before it is parsed (None: it must not be answered)."""
    if is_reply(raw):
        return None
    text = raw[:128].decode("utf-8", "replace") if isinstance(raw, bytes) else raw[:128]
    return call_error(_salvage_id(text), kind, version, reason)


def parse_frame(raw: str | bytes, version: OcppVersion, limits: FrameLimits = _DEFAULT_LIMITS) -> Frame:
    """Parse one websocket message of an OCPP-J connection speaking `version`."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode()
        except UnicodeDecodeError:
            return _bad("", "framing", version, "frame is not UTF-8 text")
    try:
        msg = loads_strict(raw, limits)
    except RefusedJson as exc:
        if is_reply(raw):  # only a CALL is ever answered
            return BadFrame(exc.reason, None)
        return _bad(raw, exc.kind, version, exc.reason)
    except ValueError:
        return _bad(raw, "framing", version, "frame is not valid JSON")
    if not isinstance(msg, list) or not msg:
        return _bad(raw, "framing", version, "frame is not a JSON array")
    kind = msg[0]
    uid = msg[1] if len(msg) > 1 else None
    if not isinstance(uid, str) or not uid or len(uid) > _MAX_ID:
        uid = None
    if kind == 2:
        if uid is None:
            return _bad(raw, "framing", version, "CALL without a readable message id", "-1")
        if len(msg) != 4 or not isinstance(msg[2], str):
            return _bad(raw, "framing", version, "CALL must be [2, id, action, payload]", uid)
        if not isinstance(msg[3], dict):
            return _bad(raw, "format", version, "CALL payload must be a JSON object", uid)
        return CallFrame(uid, msg[2], msg[3])
    if kind == 3:
        if uid is None or len(msg) != 3:
            return BadFrame("malformed CALLRESULT", None)
        return ResultFrame(uid, msg[2])
    if kind in (4, 5) and (version == OcppVersion.V21 or kind == 4):
        if uid is None or len(msg) != 5:
            return BadFrame("malformed CALLERROR", None)
        return ErrorFrame(uid, str(msg[2]), str(msg[3]), msg[4])
    if kind == 6 and version == OcppVersion.V21:
        if len(msg) != 4 or not isinstance(msg[2], str):
            return BadFrame("malformed SEND", None)
        return SendFrame(msg[2], msg[3])
    reason = f"message type {kind!r} is not supported"
    return _bad(raw, "message_type", version, reason, uid)
