"""One error tree for the Modbus driver; whether to retry is decided in one place (device.py)."""

from __future__ import annotations

__all__ = ["DeviceBusy", "ExceptionReply", "LinkError", "ModbusDriverError", "VerifyError"]

BUSY = 6
"""Modbus exception code 6: server device busy (Modbus application protocol §7)."""


class ModbusDriverError(Exception):
    """Base of every error this driver raises."""


class LinkError(ModbusDriverError):
    """No usable answer: not connected, timed out, dropped, or a malformed reply."""


class ExceptionReply(ModbusDriverError):
    """The device answered with a Modbus exception."""

    def __init__(self, code: int, what: str) -> None:
        self.code = code
        super().__init__(f"{what}: Modbus exception {code}")


class DeviceBusy(ExceptionReply):
    """Exception 6: back off before asking again."""


class VerifyError(ModbusDriverError):
    """A written setpoint did not read back as written."""
