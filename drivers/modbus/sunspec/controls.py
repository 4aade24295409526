"""Setpoints on SunSpec devices: model 704 (WSet) first, model 124 (charge/discharge rates) else.

704 (DER AC controls): WSet is the active power in generator convention ("may be negative
for charging"), so the written value is the negated load-convention power. WSetRvrtTms is
the device's reversion timer: any write to WSetEna/WSetMod/WSet/WSetRvrtTms restarts it,
and when it runs out the device applies WSetRvrt (with WSetEnaRvrt = 1). The gateway sets
WSetRvrt to the configured fallback, so a dead gateway also ends at the fallback.

124 (basic storage controls): StorCtl_Mod bit 0 (CHARGE) limits charging to InWRte % of
WChaMax, bit 1 (DISCHARGE) limits discharging to OutWRte %. InOutWRte_RvrtTms is the
reversion timer; on expiry the device drops the limits (StorCtl_Mod back to 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.modbus.control import Check, ControlPlan, Write
from drivers.modbus.registers import decode_value, encode_value, is_not_implemented
from drivers.modbus.signals import RegisterImage
from drivers.modbus.sunspec.discovery import ModelLocation
from drivers.modbus.sunspec.models import MODELS

__all__ = ["Model124Control", "Model704Control"]


def _reg(image: RegisterImage, unit: int, address: int) -> int:
    value = image.get((unit, address))
    if value is None:
        raise ValueError(f"register {address} has not been read yet")
    return value


def _sf(image: RegisterImage, unit: int, address: int, what: str) -> int:
    raw = decode_value([_reg(image, unit, address)], "sunssf")
    if not isinstance(raw, int) or is_not_implemented(raw, "sunssf") or not -10 <= raw <= 10:
        raise ValueError(f"{what} is not implemented or implausible ({raw})")
    return raw


@dataclass(frozen=True)
class Model704Control:
    model: ModelLocation
    unit_id: int
    name: str = "sunspec 704 WSet"
    revert_field: str | None = "704 WSetRvrtTms"

    def _addr(self, point: str) -> int:
        return self.model.address + MODELS[704].points[point].offset

    def read_addresses(self) -> list[tuple[int, int]]:
        first, last = self._addr("WSetEna"), self._addr("WSetRvrtTms") + 1
        points = [(self.unit_id, a) for a in range(first, last + 1)]
        return [*points, (self.unit_id, self._addr("WSet_SF"))]

    def plan_setpoint(
        self, power_w: float, *, revert_s: float, fallback_w: float, image: RegisterImage
    ) -> ControlPlan:
        sf = _sf(image, self.unit_id, self._addr("WSet_SF"), "704 WSet_SF")
        step = 10.0**sf
        wset = encode_value(round(-power_w / step), "int32")
        wrvrt = encode_value(round(-fallback_w / step), "int32")
        applied = -decode_value(wset, "int32") * step  # type: ignore[operator]
        timer = encode_value(max(0, round(revert_s)), "uint32")
        ena = self._addr("WSetEna")
        control = (1, 1, *wset, *wrvrt)  # WSetEna = 1, WSetMod = 1 (watts), WSet, WSetRvrt
        writes = (
            Write(self.unit_id, self._addr("WSetEnaRvrt"), (1, *timer), "704 WSetEnaRvrt..WSetRvrtTms"),
            Write(self.unit_id, ena, control, "704 WSetEna..WSetRvrt"),
        )  # fmt: skip
        checks = (Check(self.unit_id, ena, control[:4], "704 WSetEna..WSet"),)
        return ControlPlan(writes, checks, applied + 0.0)

    def plan_release(self, image: RegisterImage) -> ControlPlan:
        ena = self._addr("WSetEna")
        write = Write(self.unit_id, ena, (0,), "704 WSetEna")
        return ControlPlan((write,), (Check(self.unit_id, ena, (0,), "704 WSetEna"),), 0.0)


@dataclass(frozen=True)
class Model124Control:
    model: ModelLocation
    unit_id: int
    name: str = "sunspec 124 InWRte/OutWRte"
    revert_field: str | None = "124 InOutWRte_RvrtTms"

    def _addr(self, point: str) -> int:
        return self.model.address + MODELS[124].points[point].offset

    def read_addresses(self) -> list[tuple[int, int]]:
        names = ("WChaMax", "StorCtl_Mod", "OutWRte", "InWRte", "WChaMax_SF", "InOutWRte_SF")
        return [(self.unit_id, self._addr(n)) for n in names]

    def plan_setpoint(
        self, power_w: float, *, revert_s: float, fallback_w: float, image: RegisterImage
    ) -> ControlPlan:
        unit = self.unit_id
        wcha_raw = _reg(image, unit, self._addr("WChaMax"))
        if is_not_implemented(wcha_raw, "uint16") or wcha_raw == 0:
            raise ValueError("124 WChaMax is not implemented: cannot express watts as a rate")
        wcha_max = wcha_raw * 10.0 ** _sf(image, unit, self._addr("WChaMax_SF"), "124 WChaMax_SF")
        pct_step = 10.0 ** _sf(image, unit, self._addr("InOutWRte_SF"), "124 InOutWRte_SF")
        pct = round(abs(power_w) / wcha_max * 100.0 / pct_step)
        pct = min(pct, round(100.0 / pct_step))
        applied = pct * pct_step * wcha_max / 100.0
        if power_w > 0:  # charge: only the CHARGE bit, at InWRte %
            mode, out_rte, in_rte = 1, 0, pct
        elif power_w < 0:  # discharge: only the DISCHARGE bit, at OutWRte %
            mode, out_rte, in_rte, applied = 2, pct, 0, -applied
        else:  # hold 0 W: both bits, window [0, 0]
            mode, out_rte, in_rte = 3, 0, 0
        rates = (*encode_value(out_rte, "int16"), *encode_value(in_rte, "int16"))
        timer = encode_value(max(0, min(0xFFFE, round(revert_s))), "uint16")
        writes = (
            Write(unit, self._addr("InOutWRte_RvrtTms"), tuple(timer), "124 InOutWRte_RvrtTms"),
            Write(unit, self._addr("OutWRte"), rates, "124 OutWRte..InWRte"),
            Write(unit, self._addr("StorCtl_Mod"), (mode,), "124 StorCtl_Mod"),
        )
        checks = (
            Check(unit, self._addr("OutWRte"), rates, "124 OutWRte..InWRte"),
            Check(unit, self._addr("StorCtl_Mod"), (mode,), "124 StorCtl_Mod"),
        )
        return ControlPlan(writes, checks, applied + 0.0)

    def plan_release(self, image: RegisterImage) -> ControlPlan:
        address = self._addr("StorCtl_Mod")
        write = Write(self.unit_id, address, (0,), "124 StorCtl_Mod")
        return ControlPlan((write,), (Check(self.unit_id, address, (0,), "124 StorCtl_Mod"),), 0.0)
