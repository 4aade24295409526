"""Importable simulators: ``async with InverterSimulator(...) as sim`` / ``MeterSimulator``.

Each owns a device model, a Modbus TCP server on loopback (port 0 by default, the bound
port in ``sim.port``), fault switches (``sim.faults``) and an update loop that keeps the
physics running in real time for live peers. Tests inject ``gateway.clock.FakeClock`` and
advance it; every Modbus request also brings the device up to the clock's time first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from drivers.modbus.register_map import RegisterMap, RegisterMapError, load_register_map
from gateway.foundation.clock import Clock, SystemClock
from gateway.foundation.register_maps import find_register_map

from .battery import Battery, BatteryParams
from .faults import Faults
from .mapped import MappedDevice
from .meter import BaseLoad, MeterDevice, SiteMeter
from .server import LOOPBACK, DeviceServer, ServedDevice, Unit
from .storage import StorageDevice

__all__ = [
    "InverterSimulator",
    "MappedSimulator",
    "MeterSimulator",
    "ModbusSimulator",
    "resolve_register_map",
]


class ModbusSimulator:
    """Common lifecycle: start the server, run the update loop, stop both."""

    def __init__(
        self,
        units: dict[int, Unit],
        *,
        clock: Clock,
        host: str,
        port: int,
        update_interval_s: float,
        faults: Faults | None,
    ) -> None:
        self.units = units
        self.unit_id = next(iter(units))
        self.device: ServedDevice = units[self.unit_id].device
        self.clock = clock
        self.faults = faults if faults is not None else Faults()
        self.update_interval_s = update_interval_s
        self.server = DeviceServer(units, self.faults, host=host, port=port)
        self._loop_task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def image(self) -> list[int]:
        """The first unit's registers as a client would read them now (its segments joined)."""
        self.sync()
        return [reg for _, regs in self.device.segments() for reg in regs]

    def sync(self) -> None:
        """Bring physics and registers up to the clock's time (the loop does this too)."""
        for unit in self.units.values():
            unit.device.frozen = self.faults.frozen
            unit.device.sync(unit.now())

    async def start(self) -> Self:
        await self.server.start()
        if self.update_interval_s > 0:
            self._loop_task = asyncio.create_task(self._update_loop(), name="sim-update")
        return self

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        await self.server.stop()

    async def drop(self, refuse_s: float = 0.0) -> None:
        """Close client connections (and refuse new ones for ``refuse_s`` seconds)."""
        await self.server.drop(refuse_s)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _update_loop(self) -> None:
        while True:
            self.sync()
            await self.clock.sleep(self.update_interval_s)


class InverterSimulator(ModbusSimulator):
    """Battery inverter: ``profile`` is ``sunspec`` (1/701/704/713/802) or ``sunspec-legacy``.

    With ``meter_unit_id`` the same port also serves a grid meter (SunSpec 203) at that
    unit id, which sees ``base_load`` plus this battery (``sim.meter``).
    """

    def __init__(
        self,
        *,
        profile: str = "sunspec",
        params: BatteryParams | None = None,
        soc_pct: float = 50.0,
        unit_id: int = 1,
        base: int = 40000,
        host: str = LOOPBACK,
        port: int = 0,
        clock: Clock | None = None,
        update_interval_s: float = 0.5,
        device_id: str = "bess-sim",
        faults: Faults | None = None,
        meter_unit_id: int | None = None,
        base_load: BaseLoad = 20_000.0,
    ) -> None:
        clock = clock if clock is not None else SystemClock()
        self.battery = Battery(params if params is not None else BatteryParams(), soc_pct)
        self.storage = StorageDevice(
            device_id, self.battery, profile=profile, unit_id=unit_id, base=base,
            start=clock.monotonic(),
        )  # fmt: skip
        units = {unit_id: Unit(self.storage, clock.monotonic)}
        self.meter: MeterDevice | None = None
        if meter_unit_id is not None:
            if meter_unit_id == unit_id:
                raise ValueError("the meter needs a unit id of its own")
            self.meter = MeterDevice(
                f"{device_id}-meter", base_load=base_load, battery=self.battery,
                unit_id=meter_unit_id, base=base, start=clock.time(),
            )  # fmt: skip
            units[meter_unit_id] = Unit(self.meter, clock.time)
        super().__init__(
            units, clock=clock, host=host, port=port, update_interval_s=update_interval_s,
            faults=faults,
        )  # fmt: skip


class MeterSimulator(ModbusSimulator):
    """Grid meter (SunSpec 1 + 203): base load + ``other_loads`` + the battery's power.

    ``base_load`` is watts or a callable of the clock's wall time (epoch seconds), e.g.
    ``meter.daily_curve(8000, 40000)``; ``other_loads`` are callables returning watts
    (the demo passes the chargers' power); ``battery`` is an InverterSimulator's battery.
    """

    def __init__(
        self,
        *,
        base_load: BaseLoad = 20_000.0,
        other_loads: Sequence[Callable[[], float]] = (),
        battery: Battery | None = None,
        unit_id: int = 1,
        base: int = 40000,
        host: str = LOOPBACK,
        port: int = 0,
        clock: Clock | None = None,
        update_interval_s: float = 0.5,
        device_id: str = "meter-sim",
        faults: Faults | None = None,
    ) -> None:
        clock = clock if clock is not None else SystemClock()
        self.meter = MeterDevice(
            device_id, base_load=base_load, other_loads=other_loads, battery=battery,
            unit_id=unit_id, base=base, start=clock.time(),
        )  # fmt: skip
        super().__init__(
            {unit_id: Unit(self.meter, clock.time)}, clock=clock, host=host, port=port,
            update_interval_s=update_interval_s, faults=faults,
        )  # fmt: skip

    def add_load(self, load: Callable[[], float], phases: tuple[int, ...] | None = None) -> None:
        """Plug in another load (e.g. a charger's power) after start; `phases` (0, 1, 2 for
        L1, L2, L3): the phases it draws from, for single-phase loads (default: balanced)."""
        if phases is None:
            self.meter.other_loads.append(load)
        else:
            self.meter.site.phase_loads.append((load, phases))

    @property
    def power_w(self) -> float:
        self.sync()
        return self.meter.power_w


def resolve_register_map(register_map: RegisterMap | str | Path) -> RegisterMap:
    """A map object, a file path, or a name looked up like a config's ``profile:``."""
    if isinstance(register_map, RegisterMap):
        return register_map
    path = Path(register_map)
    if not path.is_file():
        found = find_register_map(str(register_map))
        if found is None:
            raise ValueError(f"no register map {register_map!r} (file or name under config/)")
        path = found
    try:
        return load_register_map(path)
    except RegisterMapError as exc:
        raise ValueError(str(exc)) from exc


class MappedSimulator(ModbusSimulator):
    """A device served from a register-map file (storage or meter, as the file says).

    Storage maps get a battery (``sim.battery``) driven by the map's ``control:`` section;
    meter maps get the site meter (base load + ``other_loads`` + an optional ``battery``).
    Points without their own ``unit_id`` are served at ``unit_id``.
    """

    def __init__(
        self,
        register_map: RegisterMap | str | Path,
        *,
        params: BatteryParams | None = None,
        soc_pct: float = 50.0,
        base_load: BaseLoad = 20_000.0,
        other_loads: Sequence[Callable[[], float]] = (),
        battery: Battery | None = None,
        unit_id: int = 1,
        host: str = LOOPBACK,
        port: int = 0,
        clock: Clock | None = None,
        update_interval_s: float = 0.5,
        device_id: str = "map-sim",
        faults: Faults | None = None,
    ) -> None:
        clock = clock if clock is not None else SystemClock()
        self.spec = resolve_register_map(register_map)
        self.site: SiteMeter | None = None
        now: Callable[[], float]
        if self.spec.kind == "storage":
            self.battery: Battery | None = Battery(params or BatteryParams(), soc_pct)
            now = clock.monotonic
            own_battery = self.battery
        else:
            self.battery = battery
            now = clock.time
            self.site = SiteMeter(
                base_load=base_load, other_loads=other_loads, battery=battery, start=now()
            )
            own_battery = None
        self.mapped = MappedDevice(
            device_id, self.spec, unit_id=unit_id, battery=own_battery, site=self.site,
            start=now(),
        )  # fmt: skip
        units = {u: Unit(view, now) for u, view in self.mapped.views().items()}
        super().__init__(
            units, clock=clock, host=host, port=port, update_interval_s=update_interval_s,
            faults=faults,
        )  # fmt: skip
