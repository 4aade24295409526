"""Helpers for driving a ModbusDevice against real pymodbus servers on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from drivers.modbus.device import ModbusDevice
from drivers.modbus.storage import StorageControl
from gateway.foundation.aio import cancel_and_wait
from gateway.foundation.clock import Clock, FakeClock
from gateway.foundation.config import ModbusDeviceConfig
from gateway.foundation.model import Record


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def eventually(
    predicate: Callable[[], bool],
    clock: FakeClock | None = None,
    *,
    step_s: float = 0.1,
    timeout_s: float = 10.0,
) -> None:
    """Wait (real time, bounded) until `predicate()`; advance the fake clock meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        if clock is not None:
            await clock.advance(step_s)
        await asyncio.sleep(0.01)


@dataclass
class Running:
    device: ModbusDevice
    records: list[Record]
    task: asyncio.Task[None]
    storage: StorageControl | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def of(self, kind: type) -> list[Any]:
        return [r for r in self.records if isinstance(r, kind)]


def device_config(port: int, **overrides: Any) -> ModbusDeviceConfig:
    raw: dict[str, Any] = {
        "id": "bess-1",
        "kind": "storage",
        "host": "127.0.0.1",
        "port": port,
        "poll_interval_s": 0.1,
        "timeout_s": 0.5,
        **overrides,
    }
    return ModbusDeviceConfig.model_validate(raw)


@contextlib.asynccontextmanager
async def running_device(config: ModbusDeviceConfig, clock: Clock) -> AsyncIterator[Running]:
    records: list[Record] = []
    device = ModbusDevice(config, record=records.append, clock=clock)
    storage = StorageControl(device, config, clock) if config.kind == "storage" else None
    if storage is None:
        device.on_state = device.publish_meter_state
    task = asyncio.create_task(device.run())
    try:
        yield Running(device, records, task, storage)
    finally:
        await device.stop()
        await cancel_and_wait([task])
