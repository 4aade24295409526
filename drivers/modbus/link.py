"""One Modbus TCP connection to one device: reads and writes that fail in our error tree.

pymodbus 3.16 facts this relies on: the unit keyword is `device_id`; an exception reply
comes back as a response whose `isError()` is true (never raised); a failed first
`connect()` returns False without retrying. Automatic reconnection and retries are off
(`reconnect_delay=0`, `retries=0`): the poll loop decides when to try again, with backoff,
and every new attempt gets a fresh client so a late reply to an old request is never
mistaken for a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from drivers.modbus.errors import BUSY, DeviceBusy, ExceptionReply, LinkError
from gateway.foundation.metrics import MESSAGES

__all__ = ["ModbusLink"]

_OUT = MESSAGES.labels("modbus", "out")
_IN = MESSAGES.labels("modbus", "in")


class ModbusLink:
    def __init__(self, host: str, port: int, *, timeout_s: float) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self._client: AsyncModbusTcpClient | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def connect(self) -> None:
        self.close()
        client = AsyncModbusTcpClient(
            self.host, port=self.port, timeout=self.timeout_s, retries=0, reconnect_delay=0
        )
        try:
            async with asyncio.timeout(self.timeout_s * 2):
                ok = await client.connect()
        except (TimeoutError, OSError, ModbusException) as exc:
            client.close()
            raise LinkError(f"cannot connect to {self.host}:{self.port}: {exc}") from None
        if not ok:
            client.close()
            raise LinkError(f"cannot connect to {self.host}:{self.port}")
        self._client = client

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    async def _call(self, what: str, request: Any) -> Any:
        client = self._client
        if client is None or not client.connected:
            self.close()
            raise LinkError("not connected")
        _OUT.inc()
        try:
            async with asyncio.timeout(self.timeout_s + 0.5):
                reply = await request(client)
        except (TimeoutError, OSError, ModbusException) as exc:
            self.close()  # a fresh connection next time: no late replies, no stale state
            raise LinkError(f"{what}: {type(exc).__name__}: {exc}") from None
        except Exception as exc:  # a malformed frame can surface as anything in the framer
            self.close()
            raise LinkError(f"{what}: malformed reply ({type(exc).__name__}: {exc})") from None
        _IN.inc()
        if reply.isError():
            code = int(getattr(reply, "exception_code", 0) or 0)
            raise (DeviceBusy if code == BUSY else ExceptionReply)(code, what)
        return reply

    async def read(self, unit_id: int, address: int, count: int) -> list[int]:
        what = f"read {address}+{count} (unit {unit_id})"
        reply = await self._call(
            what,
            lambda c: c.read_holding_registers(address, count=count, device_id=unit_id),
        )
        registers = list(getattr(reply, "registers", []) or [])
        if len(registers) != count:
            self.close()
            raise LinkError(f"{what}: malformed reply with {len(registers)} registers")
        return registers

    async def write(self, unit_id: int, address: int, registers: Sequence[int]) -> None:
        what = f"write {address}+{len(registers)} (unit {unit_id})"
        values = list(registers)
        await self._call(what, lambda c: c.write_registers(address, values, device_id=unit_id))
