"""A minimal real Modbus TCP device for register-map tests: pymodbus 3.16 server on loopback.

Holds a sparse register dict; every read sees the dict, every write lands in it and in
`writes` (address, values), so a test can both feed telemetry and check what was written.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Self

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

__all__ = ["RegisterServer"]


class RegisterServer:
    def __init__(self, ranges: Iterable[tuple[int, int]], unit_id: int = 1) -> None:
        """`ranges`: (first address, count) blocks the device answers; others get exception 2."""
        self.ranges = list(ranges)
        self.unit_id = unit_id
        self.values: dict[int, int] = {}
        self.writes: list[tuple[int, list[int]]] = []
        self.refuse_writes: set[int] = set()
        """Addresses whose writes get exception 3 (illegal data value)."""
        self.ignore_writes: set[int] = set()
        """Addresses whose writes are acknowledged but not applied (a device that fibs)."""
        self.port = 0
        self._server: ModbusTcpServer | None = None

    def set(self, address: int, registers: Iterable[int]) -> None:
        for i, value in enumerate(registers):
            self.values[address + i] = value & 0xFFFF

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if set_values is not None:
            if address in self.refuse_writes:
                return ExcCodes.ILLEGAL_VALUE
            values = [int(v) for v in set_values]
            self.writes.append((address, values))
            if address not in self.ignore_writes:
                self.set(address, values)
        for i in range(len(registers)):
            registers[i] = self.values.get(start_address + i, 0)
        return None

    async def __aenter__(self) -> Self:
        device = SimDevice(
            id=self.unit_id,
            simdata=[
                SimData(first, count=count, values=0, datatype=DataType.REGISTERS)
                for first, count in self.ranges
            ],
            action=self._action,
        )
        self._server = ModbusTcpServer(device, address=("127.0.0.1", 0))
        await self._server.serve_forever(background=True)
        sockets = getattr(self._server.transport, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
