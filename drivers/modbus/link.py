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

from drivers.modbus.blocks import ReadBlock
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
        self._backstop_s = timeout_s + 0.5
        """Per request, should pymodbus's own timeout (`timeout_s`) ever not fire."""
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

    def _usable(self) -> AsyncModbusTcpClient:
        client = self._client
        if client is None or not client.connected:
            self.close()
            raise LinkError("not connected")
        return client

    def _failed(self, what: str, exc: Exception) -> LinkError:
        self.close()  # a fresh connection next time: no late replies, no stale state
        if isinstance(exc, TimeoutError | OSError | ModbusException):
            return LinkError(f"{what}: {type(exc).__name__}: {exc}")
        # a malformed frame can surface as anything in the framer
        return LinkError(f"{what}: malformed reply ({type(exc).__name__}: {exc})")

    async def read_blocks(self, blocks: Sequence[ReadBlock]) -> list[list[int]]:
        """The registers of each block, in order (the reads of one poll).

        One backstop deadline covers them all (`_backstop_s` each) and the message counters
        move once per call, so a poll's reads cost what pymodbus costs and little more.
        """
        replies: list[list[int]] = []
        sent = received = 0
        block = blocks[0] if blocks else None
        try:
            async with asyncio.timeout(len(blocks) * self._backstop_s):
                for block in blocks:
                    client = self._usable()
                    sent += 1
                    try:
                        reply = await client.read_holding_registers(
                            block.address, count=block.count, device_id=block.unit_id
                        )
                    except Exception as exc:
                        raise self._failed(_what(block), exc) from None
                    received += 1
                    replies.append(self._registers(reply, block))
        except TimeoutError as exc:  # the backstop: pymodbus's own timeout did not fire
            assert block is not None
            raise self._failed(_what(block), exc) from None
        finally:
            if sent:
                _OUT.inc(sent)
            if received:
                _IN.inc(received)
        return replies

    def _registers(self, reply: Any, block: ReadBlock) -> list[int]:
        if reply.isError():
            raise _refusal(reply, _what(block))
        registers = list(getattr(reply, "registers", []) or [])
        if len(registers) != block.count:
            self.close()
            raise LinkError(f"{_what(block)}: malformed reply with {len(registers)} registers")
        return registers

    async def read(self, unit_id: int, address: int, count: int) -> list[int]:
        (registers,) = await self.read_blocks((ReadBlock(unit_id, address, count),))
        return registers

    async def write(self, unit_id: int, address: int, registers: Sequence[int]) -> None:
        what = f"write {address}+{len(registers)} (unit {unit_id})"
        values = list(registers)
        client = self._usable()
        _OUT.inc()
        try:
            async with asyncio.timeout(self._backstop_s):
                reply = await client.write_registers(address, values, device_id=unit_id)
        except Exception as exc:
            raise self._failed(what, exc) from None
        _IN.inc()
        if reply.isError():
            raise _refusal(reply, what)


def _what(block: ReadBlock) -> str:
    return f"read {block.address}+{block.count} (unit {block.unit_id})"


def _refusal(reply: Any, what: str) -> ExceptionReply:
    """The error for an exception reply (code 6: busy, back off)."""
    code = int(getattr(reply, "exception_code", 0) or 0)
    return (DeviceBusy if code == BUSY else ExceptionReply)(code, what)
