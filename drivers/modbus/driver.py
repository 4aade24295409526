"""The Modbus driver: one task per device, command handlers, and the storage capability objects.

A site controller reaches batteries through `driver.storage(device_id)` (a StorageControl:
`power_w()`, `soc_pct()`, `limits`, `async set_power_w(w, source=CommandSource.CONTROLLER)`) and
meters through `driver.meter(device_id)` (`power_w()`).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog

from drivers.modbus.device import ModbusDevice
from drivers.modbus.storage import StorageControl
from gateway.foundation.commands.leasing import LeaseTerms
from gateway.foundation.commands.schemas import ModeCommand, SetpointCommand
from gateway.foundation.driver_api import DriverContext
from gateway.foundation.errors import DeviceFailed
from gateway.foundation.model import CommandRequest, CommandResult, DeviceKind

__all__ = ["MeterView", "ModbusDriver"]

log = structlog.get_logger("drivers.modbus")

class MeterView:
    """Read side of a meter for the site controller."""

    def __init__(self, device: ModbusDevice) -> None:
        self.device = device

    @property
    def connected(self) -> bool:
        return self.device.connected

    def power_w(self) -> float | None:
        """Grid power at the meter, load convention (positive = import)."""
        value = self.device.values.get("power_w")
        return float(value) if isinstance(value, int | float) else None


class ModbusDriver:
    name = "modbus"

    def __init__(self, context: DriverContext) -> None:
        self.context = context
        self.devices: dict[str, ModbusDevice] = {}
        self._storage: dict[str, StorageControl] = {}
        self._meters: dict[str, MeterView] = {}
        for cfg in context.config.modbus.devices:
            device = ModbusDevice(cfg, record=context.recorder.record, clock=context.clock)
            self.devices[cfg.id] = device
            if cfg.kind == "storage":
                self._storage[cfg.id] = StorageControl(device, cfg, context.clock)
            else:
                self._meters[cfg.id] = MeterView(device)
                device.on_state = device.publish_meter_state

    def storage(self, device_id: str) -> StorageControl:
        return self._storage[device_id]

    def meter(self, device_id: str) -> MeterView:
        return self._meters[device_id]

    @property
    def storage_ids(self) -> list[str]:
        return list(self._storage)

    @property
    def meter_ids(self) -> list[str]:
        return list(self._meters)

    async def start(self) -> None:
        router = self.context.router
        router.register_leased(DeviceKind.STORAGE, "setpoint", self._setpoint)
        router.register_leased(DeviceKind.STORAGE, "mode", self._mode)
        for device_id, storage in self._storage.items():
            router.add_device(DeviceKind.STORAGE, device_id)
            storage.publish_state()
        for meter in self._meters.values():
            meter.device.publish_meter_state()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for device_id, device in self.devices.items():
                group.create_task(device.run(), name=f"modbus-{device_id}")

    async def stop(self) -> None:
        for device in self.devices.values():
            with contextlib.suppress(Exception):
                await device.stop()

    # -- commands -------------------------------------------------------------------------

    async def _setpoint(
        self, request: CommandRequest, args: SetpointCommand, lease: LeaseTerms
    ) -> CommandResult:
        storage = self._storage[request.device_id]
        # The site controller reaches batteries through the router too: its setpoints belong
        # to mode auto, the control centre's and the web page's to mode manual.
        try:
            outcome = await storage.set_power_w(args.power_w, source=request.source, lease=lease)
        except ValueError as exc:  # a value the device's registers cannot hold
            raise DeviceFailed(str(exc)) from exc
        detail: dict[str, object] = {
            "requested_power_w": outcome.requested_w,
            "applied_power_w": outcome.applied_w,
            "clamped": outcome.clamped,
        }
        if outcome.expires_at is not None:
            expires = datetime.fromtimestamp(outcome.expires_at, UTC)
            detail["expires_at"] = expires.isoformat().replace("+00:00", "Z")
        return CommandResult.accepted(outcome.reason, **detail)

    async def _mode(
        self, request: CommandRequest, args: ModeCommand, lease: LeaseTerms
    ) -> CommandResult:
        storage = self._storage[request.device_id]
        try:
            await storage.set_mode(args.mode, lease)
        except ValueError as exc:
            raise DeviceFailed(str(exc)) from exc
        return CommandResult.accepted(mode=args.mode)


def create_driver(context: DriverContext) -> ModbusDriver:
    return ModbusDriver(context)
