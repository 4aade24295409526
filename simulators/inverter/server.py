"""Modbus TCP shell around simulated devices: a pymodbus 3.16 server, one image per unit id.

pymodbus hooks used, and why:

* ``SimDevice.action`` runs before every register access; it brings the device's physics up
  to date, applies writes to the model (refusing read-only points with exception 2 and bad
  values with exception 3) and copies the fresh image into the datastore.
* ``trace_pdu`` sees each decoded request once; wrapping its ``datastore_update`` gives one
  async place per request for the delay and exception faults (a write single register
  touches the datastore twice, so the action hook would count it twice), and answers a
  unit id that is not served with exception 0x0B (gateway target failed to respond).
* ``trace_packet`` sees each encoded reply; the garbage faults rewrite the bytes there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import structlog
from pymodbus.constants import ExcCodes
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from .device import IllegalValueError, ReadOnlyPointError
from .faults import Faults

__all__ = ["DeviceServer", "ServedDevice", "Unit"]

LOOPBACK = "127.0.0.1"
_REQUEST_TID = "_pilebridge_request_tid"


class ServedDevice(Protocol):
    """What the server needs from the device behind one unit id."""

    device_id: str
    frozen: bool

    def sync(self, now: float) -> None: ...

    def write(self, address: int, values: list[int], now: float) -> None: ...

    def segments(self) -> list[tuple[int, list[int]]]:
        """Contiguous register runs (start address, values) this unit answers, ascending."""
        ...


@dataclass
class Unit:
    """A device behind one Modbus unit id, and the time source it runs on."""

    device: ServedDevice
    now: Callable[[], float]


class DeviceServer:
    """Serves one or more simulated devices (by unit id) on one TCP port."""

    def __init__(
        self, units: dict[int, Unit], faults: Faults, *, host: str = LOOPBACK, port: int = 0
    ) -> None:
        if not units:
            raise ValueError("at least one unit is needed")
        self.units = units
        self.faults = faults
        self.host = host
        self.port = port  # 0 until started, then the bound port
        self._server: ModbusTcpServer | None = None
        self._resume_task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        name = ",".join(u.device.device_id for u in units.values())
        self.log = structlog.get_logger("simulators.inverter").bind(device_id=name)

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def wait_listening(self) -> None:
        """Return once the server accepts connections (e.g. after a refusing drop)."""
        await self._listening.wait()

    @property
    def connections(self) -> int:
        return len(self._server.active_connections) if self._server else 0

    async def start(self) -> int:
        """Bind and listen; returns the bound port (a fresh one when ``port`` was 0)."""
        devices = [
            SimDevice(
                id=unit_id,
                simdata=[
                    SimData(start, values=regs, datatype=DataType.REGISTERS)
                    for start, regs in unit.device.segments()
                ],
                action=partial(self._action, unit),
            )
            for unit_id, unit in self.units.items()
        ]
        server = ModbusTcpServer(
            devices,
            address=(self.host, self.port),
            trace_packet=self._on_packet,
            trace_pdu=self._on_pdu,
            trace_connect=self._on_connect,
        )
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:  # pymodbus reports a failed bind this way
            raise OSError(f"could not listen on {self.host}:{self.port}: {exc}") from exc
        sockets = getattr(server.transport, "sockets", None) or []
        if not sockets:
            await _shutdown(server)
            raise OSError(f"could not listen on {self.host}:{self.port}")
        self.port = int(sockets[0].getsockname()[1])
        self._server = server
        self._listening.set()
        self.log.info("modbus_listening", host=self.host, port=self.port)
        return self.port

    async def stop(self) -> None:
        if self._resume_task is not None:
            self._resume_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._resume_task
            self._resume_task = None
        if self._server is not None:
            await _shutdown(self._server)
            self._server = None
            self._listening.clear()
            self.log.info("modbus_stopped", port=self.port)

    async def drop(self, refuse_s: float = 0.0) -> None:
        """Close every client connection; with ``refuse_s`` > 0 also stop accepting for that long."""
        server = self._server
        if server is None:
            return
        dropped = list(server.active_connections.values())
        for conn in dropped:
            conn.close()
        self.log.warning("connections_dropped", count=len(dropped), refuse_s=refuse_s)
        if refuse_s > 0:
            await _shutdown(server)
            self._server = None
            self._listening.clear()
            self._resume_task = asyncio.create_task(self._resume_after(refuse_s))

    async def _resume_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._resume_task = None
        try:
            await self.start()
        except OSError as exc:  # someone else took the port meanwhile
            self.log.error("modbus_relisten_failed", port=self.port, reason=str(exc))

    async def _action(
        self,
        unit: Unit,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """Keep the datastore equal to the device image; apply writes to the device."""
        device = unit.device
        device.frozen = self.faults.frozen
        now = unit.now()
        try:
            if set_values is not None:
                device.write(address, [int(v) for v in set_values], now)
            else:
                device.sync(now)
        except ReadOnlyPointError as exc:
            self.log.info("write_refused", address=address, reason=str(exc))
            return ExcCodes.ILLEGAL_ADDRESS
        except IllegalValueError as exc:
            self.log.info("write_refused", address=address, reason=str(exc))
            return ExcCodes.ILLEGAL_VALUE
        for start, regs in device.segments():
            offset = start - start_address
            registers[offset : offset + len(regs)] = regs
        return None

    def _on_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if sending:
            # pymodbus stamps a reply with the connection's latest request id; a reply held
            # back by the delay fault must keep the id of the request it answers
            tid = getattr(pdu, _REQUEST_TID, None)
            if tid is not None:
                pdu.transaction_id = tid
            return pdu
        original = pdu.datastore_update
        faults, units = self.faults, self.units

        async def datastore_update(context: Any, device_id: int) -> ModbusPDU:
            if device_id not in units:  # as a Modbus gateway does for an absent unit
                return ExceptionResponse(pdu.function_code, ExcCodes.GATEWAY_NO_RESPONSE)
            code = faults.take_exception()
            if faults.delay_s > 0:
                await asyncio.sleep(faults.delay_s)
            result: ModbusPDU
            if code is not None:
                result = ExceptionResponse(pdu.function_code, code)
            else:
                result = await original(context, device_id)
            setattr(result, _REQUEST_TID, pdu.transaction_id)
            return result

        pdu.datastore_update = datastore_update  # type: ignore[method-assign]
        return pdu

    def _on_connect(self, connected: bool) -> None:
        self.log.info("client_connected" if connected else "client_disconnected", port=self.port)

    def _on_packet(self, sending: bool, data: bytes) -> bytes:
        return self.faults.mangle(data) if sending else data


async def _shutdown(server: ModbusTcpServer) -> None:
    """Close the listener and every connection (pymodbus leaves this method untyped)."""
    await server.shutdown()  # type: ignore[no-untyped-call]
