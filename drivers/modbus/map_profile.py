"""Build a DeviceProfile from a register-map file: signals for telemetry, a control for setpoints."""

from __future__ import annotations

import math
from dataclasses import dataclass

from drivers.modbus.control import Check, ControlPlan, Write
from drivers.modbus.profile import DeviceProfile
from drivers.modbus.register_map import FixedWrite, MapPoint, RegisterMap
from drivers.modbus.registers import encode_value
from drivers.modbus.signals import RegisterImage, Signal
from drivers.modbus.vocabulary import IDENTITY_FIELDS

__all__ = ["MapControl", "build_map_profile"]


def _signal(name: str, point: MapPoint, unit_id: int, flip: float = 1.0) -> Signal:
    return Signal(
        name=name,
        address=point.address,
        reg_type=point.type,
        unit_id=point.unit_id if point.unit_id is not None else unit_id,
        size=point.size or 0,
        word_order=point.word_order,
        scale=point.scale,
        sign=(-1.0 if point.sign == "generator" else 1.0) * flip,
        sentinels=point.sunspec_sentinels,
        invalid=tuple(point.invalid),
        unit=point.unit,
    )


@dataclass(frozen=True)
class MapControl:
    """Writes setpoints the way the map's `control:` section says."""

    spec: RegisterMap
    unit_id: int
    name: str = "register map"

    @property
    def revert_field(self) -> str | None:
        timer = self.spec.control.revert_timer if self.spec.control else None
        return None if timer is None else timer.point

    def _point(self, name: str) -> tuple[int, MapPoint]:
        point = self.spec.points[name]
        return (point.unit_id if point.unit_id is not None else self.unit_id), point

    def _write(self, name: str, value: float, *, signed: bool = False) -> Write:
        unit, point = self._point(name)
        raw = value / point.scale
        if signed and point.sign == "generator":
            raw = -raw
        regs = tuple(encode_value(raw, point.type, point.word_order))
        return Write(unit, point.address, regs, name)

    def _fixed(self, writes: list[FixedWrite]) -> list[Write]:
        return [self._write(w.point, w.value) for w in writes]

    def read_addresses(self) -> list[tuple[int, int]]:
        return []

    def plan_setpoint(
        self, power_w: float, *, revert_s: float, fallback_w: float, image: RegisterImage
    ) -> ControlPlan:
        spec = self.spec.control
        assert spec is not None
        writes = self._fixed(spec.before)
        if spec.revert_timer is not None:
            timer = spec.revert_timer
            amount = revert_s / 60.0 if timer.unit == "min" else revert_s
            writes.append(self._write(timer.point, max(1, math.ceil(amount))))
        if spec.setpoint is not None:
            _, point = self._point(spec.setpoint)
            step = point.scale
            applied = round(power_w / step) * step
            writes.append(self._write(spec.setpoint, applied, signed=True))
        else:
            assert spec.direction and spec.charge_power and spec.discharge_power
            d = spec.direction
            _, cpoint = self._point(spec.charge_power)
            _, dpoint = self._point(spec.discharge_power)
            if power_w > 0:
                applied = round(power_w / cpoint.scale) * cpoint.scale
                writes += [self._write(spec.charge_power, applied), self._write(d.point, d.charge)]
            elif power_w < 0:
                applied = -round(-power_w / dpoint.scale) * dpoint.scale
                writes += [self._write(spec.discharge_power, -applied),
                           self._write(d.point, d.discharge)]  # fmt: skip
            else:
                applied = 0.0
                writes.append(self._write(d.point, d.stop))
        return ControlPlan(tuple(writes), self._checks(writes), applied + 0.0)

    def _checks(self, writes: list[Write] | tuple[Write, ...]) -> tuple[Check, ...]:
        return tuple(
            Check(w.unit_id, w.address, w.registers, w.what)
            for w in writes
            if self.spec.points[w.what].readback
        )

    def plan_release(self, image: RegisterImage) -> ControlPlan:
        spec = self.spec.control
        writes = tuple(self._fixed(spec.release)) if spec else ()
        return ControlPlan(writes, self._checks(writes), 0.0)


def build_map_profile(
    spec: RegisterMap, unit_id: int, *, source: str, invert_power: bool = False
) -> DeviceProfile:
    flip = -1.0 if invert_power else 1.0
    control_points = {n for _, n in spec.control.referenced()} if spec.control else set()
    signals: list[Signal] = []
    identity: list[Signal] = []
    for name, point in spec.points.items():
        if name in IDENTITY_FIELDS:
            identity.append(_signal(name, point, unit_id))
        elif name not in control_points or name in ("power_w",):
            signals.append(_signal(name, point, unit_id, flip if name.endswith("power_w") else 1.0))
    control = MapControl(spec, unit_id) if spec.control is not None else None
    return DeviceProfile(
        kind=spec.kind,
        source=source,
        signals=tuple(signals),
        identity=tuple(identity),
        control=control,
        max_gap=0,
    )
