"""The Modbus driver's errors: a subtree of `ProtocolError`; whether to retry is decided in one
place (device.py). Those that can end a command also sit in the foundation's `CommandError`
tree, so the command router turns them into results (a `LinkError` is a timeout, an exception
reply a refusal carrying its code, a setpoint that does not read back a failure).
"""

from __future__ import annotations

from gateway.foundation.errors import (
    CommandRejected,
    DeviceFailed,
    DeviceNotSupported,
    DeviceOffline,
    DeviceRefused,
    DeviceTimeout,
    ProtocolError,
)

__all__ = [
    "DeviceBusy",
    "DiscoveryError",
    "ExceptionReply",
    "LinkError",
    "ModbusDriverError",
    "NoWritableSetpoint",
    "NotAccepted",
    "StorageOffline",
    "VerifyError",
]

BUSY = 6
"""Modbus exception code 6: server device busy (Modbus application protocol §7)."""


class ModbusDriverError(ProtocolError):
    """Base of every error this driver raises."""


class LinkError(ModbusDriverError, DeviceTimeout):
    """No usable answer: not connected, timed out, dropped, or a malformed reply."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.reason = f"device did not answer: {message}"


class ExceptionReply(ModbusDriverError, DeviceRefused):
    """The device answered with a Modbus exception."""

    def __init__(self, code: int, what: str) -> None:
        super().__init__(f"{what}: Modbus exception {code}", modbus_exception=code)
        self.code = code
        self.reason = f"device refused: {self}"


class DeviceBusy(ExceptionReply):
    """Exception 6: back off before asking again."""


class VerifyError(ModbusDriverError, DeviceFailed):
    """A written setpoint did not read back as written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.reason = f"setpoint not confirmed by the device: {message}"


class DiscoveryError(ModbusDriverError):
    """The device has no usable SunSpec map (no marker, a broken chain, unusable models)."""


class NotAccepted(ModbusDriverError, CommandRejected):
    """The battery cannot take this setpoint now (wrong mode); says why."""


class StorageOffline(NotAccepted, DeviceOffline):
    """The battery is not connected."""


class NoWritableSetpoint(NotAccepted, DeviceNotSupported):
    """The battery's profile has no setpoint the gateway may write."""
