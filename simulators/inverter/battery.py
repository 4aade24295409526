"""Battery physics: state of charge integrates AC power over time, within power and SoC limits.

Sign: PileBridge load convention (docs/interfaces.md) -- ``power_w`` > 0 charges the
battery (power flows from the site into it), < 0 discharges it. The register layer
turns this into each SunSpec model's own convention.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Battery", "BatteryParams"]


@dataclass(frozen=True, slots=True)
class BatteryParams:
    """Nameplate and behaviour of a simulated battery storage system."""

    capacity_wh: float = 100_000.0
    max_charge_w: float = 50_000.0
    max_discharge_w: float = 50_000.0
    soc_min_pct: float = 5.0
    soc_max_pct: float = 100.0
    round_trip_efficiency: float = 0.92
    self_consumption_w: float = 0.0  # DC auxiliary draw (BMS, fans), taken from the cells
    soh_pct: float = 98.0
    nominal_v: float = 768.0

    def __post_init__(self) -> None:
        if self.capacity_wh <= 0:
            raise ValueError("capacity_wh must be positive")
        if self.max_charge_w < 0 or self.max_discharge_w < 0:
            raise ValueError("power limits must not be negative")
        if not 0 <= self.soc_min_pct < self.soc_max_pct <= 100:
            raise ValueError("need 0 <= soc_min_pct < soc_max_pct <= 100")
        if not 0 < self.round_trip_efficiency <= 1:
            raise ValueError("round_trip_efficiency must be in (0, 1]")

    @property
    def one_way_efficiency(self) -> float:
        return math.sqrt(self.round_trip_efficiency)


class Battery:
    """Integrates requested AC power into stored energy; reports what actually flowed."""

    def __init__(self, params: BatteryParams, soc_pct: float = 50.0) -> None:
        self.params = params
        self.energy_wh = params.capacity_wh * min(max(soc_pct, 0.0), 100.0) / 100.0
        self.power_w = 0.0  # actual AC power now, load convention
        self.dc_power_w = 0.0  # at the cells, load convention (after conversion losses)
        self.charged_ac_wh = 0.0  # lifetime AC energy absorbed from the grid
        self.discharged_ac_wh = 0.0  # lifetime AC energy injected into the grid
        self.throughput_wh = 0.0  # DC energy out of the cells, for the cycle count
        self.soc_floor_pct = params.soc_min_pct  # may be raised by a reserve setting

    @property
    def soc_pct(self) -> float:
        return 100.0 * self.energy_wh / self.params.capacity_wh

    @property
    def cycles(self) -> int:
        return int(self.throughput_wh // self.params.capacity_wh)

    @property
    def voltage_v(self) -> float:
        """A simple open-circuit curve: nominal at 50 % SoC, +-8 % over the range."""
        return self.params.nominal_v * (0.92 + 0.16 * self.soc_pct / 100.0)

    @property
    def current_a(self) -> float:
        return self.dc_power_w / self.voltage_v

    def limits_w(self) -> tuple[float, float]:
        """(max charge W, max discharge W) available right now, given the SoC window."""
        p = self.params
        charge = p.max_charge_w if self.soc_pct < p.soc_max_pct - 1e-9 else 0.0
        floor = max(self.soc_floor_pct, p.soc_min_pct)
        discharge = p.max_discharge_w if self.soc_pct > floor + 1e-9 else 0.0
        return charge, discharge

    def clamp(self, requested_w: float) -> float:
        """The AC power the battery would take for a request (load convention)."""
        charge, discharge = self.limits_w()
        return min(max(requested_w, -discharge), charge)

    def step(self, dt_s: float, requested_w: float) -> float:
        """Advance ``dt_s`` seconds at ``requested_w``; returns the AC power that flowed.

        The SoC stops exactly at its limit: a step that would cross it delivers only the
        energy up to the limit, and the power reads 0 from then on.
        """
        if dt_s <= 0:
            self.power_w = self.clamp(requested_w)
            self.dc_power_w = self._dc(self.power_w)
            return self.power_w
        p = self.params
        ac_w = self.clamp(requested_w)
        dc_w = self._dc(ac_w) - p.self_consumption_w
        hours = dt_s / 3600.0
        delta_wh = dc_w * hours
        top = p.capacity_wh * p.soc_max_pct / 100.0
        bottom = p.capacity_wh * max(self.soc_floor_pct, p.soc_min_pct) / 100.0
        share = 1.0  # part of the step during which ac_w flowed
        limit = top if ac_w > 0 else bottom if ac_w < 0 else None
        if limit is not None and delta_wh and (self.energy_wh + delta_wh - limit) * ac_w >= 0:
            share = min(max((limit - self.energy_wh) / delta_wh, 0.0), 1.0)
            delta_wh = limit - self.energy_wh if share > 0 else 0.0
        ac_wh = ac_w * hours * share
        if ac_wh > 0:
            self.charged_ac_wh += ac_wh
        else:
            self.discharged_ac_wh -= ac_wh
        if delta_wh < 0:
            self.throughput_wh -= delta_wh
        self.energy_wh = min(max(self.energy_wh + delta_wh, 0.0), p.capacity_wh)
        if share < 1.0:
            ac_w, dc_w = 0.0, -p.self_consumption_w
        self.power_w = ac_w
        self.dc_power_w = dc_w
        return ac_w

    def _dc(self, ac_w: float) -> float:
        eta = self.params.one_way_efficiency
        return ac_w * eta if ac_w >= 0 else ac_w / eta

    def _ac(self, dc_wh: float) -> float:
        eta = self.params.one_way_efficiency
        return dc_wh / eta if dc_wh >= 0 else dc_wh * eta
