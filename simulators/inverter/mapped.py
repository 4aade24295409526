"""A battery inverter or meter served from a register-map file instead of a SunSpec map.

Telemetry points are filled from the physics by their capability name (``power_w``,
``soc_pct``, ``energy_wh`` ...); the map's ``control:`` section is obeyed as the driver
writes it: a signed ``setpoint`` point, or a ``direction`` command with ``charge_power`` /
``discharge_power`` magnitudes, optionally bounded by a ``revert_timer`` (seconds or
minutes) after which the device stops (setpoint 0, direction ``stop``).
"""

from __future__ import annotations

import copy
from typing import cast

import structlog

from drivers.modbus.register_map import ControlSpec, MapPoint, RegisterMap

from .battery import Battery
from .controls import RevertTimer, integrate
from .device import IllegalValueError
from .mapped_image import MappedImage
from .meter import SiteMeter
from .points import PointValue

__all__ = ["MapControlState", "MappedDevice", "MappedUnit"]

GRID_LN_V = 230.0
GRID_HZ = 50.0


class MapControlState(RevertTimer):
    """The setpoint a map's ``control:`` section describes, with its reversion timer."""

    def __init__(self, spec: ControlSpec, points: dict[str, MapPoint]) -> None:
        self.spec = spec
        self.points = points
        self.values: dict[str, float] = {}
        self.deadline: float | None = None
        self.reverted = 0
        triggers = [spec.setpoint, spec.charge_power, spec.discharge_power]
        triggers += [spec.direction.point if spec.direction else None]
        triggers += [spec.revert_timer.point if spec.revert_timer else None]
        self.triggers = frozenset(t for t in triggers if t is not None)

    def write(self, name: str, value: float, now: float) -> None:
        d = self.spec.direction
        if d is not None and name == d.point and int(value) not in (d.charge, d.discharge, d.stop):
            raise ValueError(f"{name}: {value} is none of {d.charge}, {d.discharge}, {d.stop}")
        if name in (self.spec.charge_power, self.spec.discharge_power) and value < 0:
            raise ValueError(f"{name}: a magnitude must not be negative")
        self.values[name] = value
        if name in self.triggers:
            period = self._period_s()
            active = period > 0 and self.requested_w() != 0
            self.deadline = now + period if active else None

    def _period_s(self) -> float:
        timer = self.spec.revert_timer
        if timer is None:
            return 0.0
        amount = self.values.get(timer.point, 0.0)
        return amount * 60.0 if timer.unit == "min" else amount

    def requested_w(self) -> float:
        """Requested battery power, load convention."""
        if self.spec.setpoint is not None:
            value = self.values.get(self.spec.setpoint, 0.0)
            return -value if self.points[self.spec.setpoint].sign == "generator" else value
        d = self.spec.direction
        assert d is not None and self.spec.charge_power and self.spec.discharge_power
        command = int(self.values.get(d.point, d.stop))
        if command == d.charge:
            return self.values.get(self.spec.charge_power, 0.0)
        if command == d.discharge:
            return -self.values.get(self.spec.discharge_power, 0.0)
        return 0.0

    def expire(self, now: float) -> bool:
        if not self._fire_if_due(now):
            return False
        if self.spec.setpoint is not None:
            self.values[self.spec.setpoint] = 0.0
        elif self.spec.direction is not None:
            self.values[self.spec.direction.point] = self.spec.direction.stop
        return True


class MappedDevice:
    """Physics (a battery or the site meter) behind the registers of a map file."""

    def __init__(
        self,
        device_id: str,
        spec: RegisterMap,
        *,
        unit_id: int = 1,
        battery: Battery | None = None,
        site: SiteMeter | None = None,
        start: float = 0.0,
    ) -> None:
        if (spec.kind == "storage") != (battery is not None) or (spec.kind == "meter") != (
            site is not None
        ):
            raise ValueError("a storage map needs a battery, a meter map a site meter")
        self.device_id = device_id
        self.spec = spec
        self.image = MappedImage(spec, unit_id)
        self.battery = battery
        self.site = site
        self.control = MapControlState(spec.control, spec.points) if spec.control else None
        self.t = start
        self.frozen = False
        self.writes: list[tuple[float, str, PointValue]] = []
        self.log = structlog.get_logger("simulators.inverter").bind(device_id=device_id)
        self.refresh(start)

    def views(self) -> dict[int, MappedUnit]:
        """One served view per unit id the map uses."""
        return {unit: MappedUnit(self, unit) for unit in self.image.units()}

    def sync(self, now: float) -> None:
        if now > self.t:
            self._advance(now)
            self.t = now
        if not self.frozen:
            self.refresh(now)

    def _advance(self, now: float) -> None:
        if self.battery is not None:
            if self.control is None:
                self.battery.step(now - self.t, 0.0)
                return
            for at in integrate(self.battery, self.control, self.t, now):
                self.log.info("setpoint_reverted", at=at, reverted=self.control.reverted)
        elif self.site is not None:
            self.site.advance(now - self.t, now)

    def write(self, unit_id: int, address: int, values: list[int], now: float) -> None:
        """Apply a write to RW points; ReadOnlyPointError / IllegalValueError as for SunSpec."""
        self.sync(now)
        changes = self.image.decode_write(unit_id, address, values)
        saved = copy.deepcopy(self.control)
        try:
            for name, value in changes.items():
                if not isinstance(value, int | float):
                    raise ValueError(f"{name}: numeric value expected")
                if self.control is not None and name in self.control.points:
                    self.control.write(name, float(value), now)
        except ValueError as exc:
            self.control = saved
            raise IllegalValueError(str(exc)) from exc
        for name, value in changes.items():
            self.image.values[name] = value
            self.writes.append((now, name, value))
            self.log.debug("point_written", point=name, value=value)
        if self.battery is not None and self.control is not None:
            self.battery.step(0.0, self.control.requested_w())
        if not self.frozen:
            self.refresh(now)

    def refresh(self, now: float) -> None:
        """Fill telemetry points from the physics, in each point's own sign convention."""
        readings = self._readings()
        for name, placed in self.image.points.items():
            if name in readings:
                value = readings[name]
                if isinstance(value, float) and placed.spec.sign == "generator":
                    value = -value
                self.image.values[name] = value
        if self.control is not None:
            for name, value in self.control.values.items():
                self.image.values[name] = value

    def _readings(self) -> dict[str, PointValue]:
        identity: dict[str, PointValue] = {
            "manufacturer": "PileBridge", "model": f"SimMap {self.spec.name}"[:40],
            "serial": f"PBMAP-{self.device_id}", "firmware": "1.0.0",
        }  # fmt: skip
        if self.battery is not None:
            b = self.battery
            return identity | {
                "power_w": b.power_w, "soc_pct": b.soc_pct, "soh_pct": b.params.soh_pct,
                "voltage_v": b.voltage_v, "current_a": b.current_a, "temperature_c": 25.0,
                "max_charge_w": b.params.max_charge_w,
                "max_discharge_w": b.params.max_discharge_w, "frequency_hz": GRID_HZ,
                "energy_charged_wh": b.charged_ac_wh, "energy_discharged_wh": b.discharged_ac_wh,
            }  # fmt: skip
        site = cast(SiteMeter, self.site)
        w = site.power_w
        phases: dict[str, PointValue] = {}
        for ph in ("l1", "l2", "l3"):
            phases |= {
                f"{ph}_power_w": w / 3, f"{ph}_current_a": w / 3 / GRID_LN_V,
                f"{ph}_voltage_v": GRID_LN_V, f"{ph}_energy_wh": site.import_wh / 3,
            }  # fmt: skip
        return identity | phases | {
            "power_w": w, "energy_wh": site.import_wh, "energy_export_wh": site.export_wh,
            "frequency_hz": GRID_HZ, "voltage_v": GRID_LN_V, "current_a": w / GRID_LN_V / 3,
        }  # fmt: skip


class MappedUnit:
    """The part of a mapped device behind one unit id, as the server sees it."""

    def __init__(self, device: MappedDevice, unit_id: int) -> None:
        self.device = device
        self.unit_id = unit_id
        self.device_id = device.device_id

    @property
    def frozen(self) -> bool:
        return self.device.frozen

    @frozen.setter
    def frozen(self, value: bool) -> None:
        self.device.frozen = value

    def sync(self, now: float) -> None:
        self.device.sync(now)

    def write(self, address: int, values: list[int], now: float) -> None:
        self.device.write(self.unit_id, address, values, now)

    def segments(self) -> list[tuple[int, list[int]]]:
        return self.device.image.segments(self.unit_id)
