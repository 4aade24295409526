"""The OCPP driver's errors: a subtree of the foundation's `ProtocolError`.

A charger that breaks the protocol (a frame that fails its schema) raises `SchemaViolation`;
a command's call that ends badly raises `CallRefused` (a CALLERROR) or `ChargerOffline` (the
session closed first). `drivers.ocpp.calls` turns those into the foundation's `DeviceError`s
with the action named, and the command router builds the result.
"""

from __future__ import annotations

from typing import Any

from drivers.ocpp.frames import ErrorKind
from gateway.foundation.errors import DeviceOffline, ProtocolError

__all__ = ["CallRefused", "ChargerOffline", "OcppError", "QueueFull", "SchemaViolation"]


class OcppError(ProtocolError):
    """Base of every error this driver raises."""


class SchemaViolation(OcppError):
    """A payload does not match its OCPP JSON schema; `kind` picks the CALLERROR code."""

    def __init__(self, kind: ErrorKind, message: str, path: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.path = path


class CallRefused(OcppError):
    """The charger answered a command with a CALLERROR."""

    def __init__(self, code: str, description: str, details: Any) -> None:
        super().__init__(f"{code}: {description}")
        self.code, self.description, self.details = code, description, details


class ChargerOffline(OcppError, DeviceOffline):
    """The session ended before the charger answered."""

    def __init__(self, reason: str = "charger is offline") -> None:
        super().__init__(reason)


class QueueFull(OcppError):
    """`ocpp.max_queued_commands` commands already wait for this charger."""
