"""The site's grid meter: base load + pluggable loads (chargers) + the battery, as SunSpec 203.

Reading in load convention at the grid connection: W > 0 imports from the grid,
W < 0 exports, which is also the SunSpec model 203 meter convention (TotWhImp counts
imported energy, TotWhExp exported energy, both acc32).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from .battery import Battery
from .device import SunSpecDevice, common_block
from .image import MODEL_TABLES, ModelBlock, RegisterImage
from .points import PointValue, fit_scale_factor

__all__ = ["BaseLoad", "MeterDevice", "SiteMeter", "daily_curve"]

BaseLoad = float | Callable[[float], float]
GRID_LN_V = 230.0
GRID_HZ = 50.0


def daily_curve(
    night_w: float, peak_w: float, *, peak_hour: float = 18.0, period_s: float = 86_400.0
) -> Callable[[float], float]:
    """A smooth day: ``night_w`` twelve hours from the peak, ``peak_w`` at ``peak_hour``.

    The argument is the simulation clock in seconds; compress ``period_s`` for a demo.
    """

    def load(t_s: float) -> float:
        phase = 2 * math.pi * ((t_s % period_s) / period_s - peak_hour / 24.0)
        return night_w + (peak_w - night_w) * (1 + math.cos(phase)) / 2

    return load


class SiteMeter:
    """Physics of the grid connection: net power now and the energy counters behind it."""

    def __init__(
        self,
        *,
        base_load: BaseLoad = 20_000.0,
        other_loads: Sequence[Callable[[], float]] = (),
        battery: Battery | None = None,
        start: float = 0.0,
        import_wh: float = 0.0,
        export_wh: float = 0.0,
    ) -> None:
        self.base_load = base_load
        self.other_loads: list[Callable[[], float]] = list(other_loads)
        """Balanced loads (split equally over the three phases)."""
        self.phase_loads: list[tuple[Callable[[], float], tuple[int, ...]]] = []
        """Loads on some phases only (0, 1, 2 = L1, L2, L3), e.g. a single-phase charger."""
        self.battery = battery
        self.import_wh = import_wh
        self.export_wh = export_wh
        self.power_w = self.site_power_w(start)

    def site_power_w(self, now: float) -> float:
        """Net power at the grid connection now, load convention (> 0 imports)."""
        base = self.base_load(now) if callable(self.base_load) else self.base_load
        extra = sum(load() for load in self.other_loads)
        extra += sum(load() for load, _ in self.phase_loads)
        battery = self.battery.power_w if self.battery is not None else 0.0
        return base + extra + battery

    def phase_split_w(self) -> tuple[float, float, float]:
        """The net power per phase: balanced loads split in three, phase loads where they draw."""
        split = [(self.power_w - sum(load() for load, _ in self.phase_loads)) / 3] * 3
        for load, phases in self.phase_loads:
            watts = load()
            for p in phases:
                split[p] += watts / len(phases)
        return split[0], split[1], split[2]

    def advance(self, dt_s: float, now: float) -> None:
        """Integrate energy at the power last seen (trapezoids would need history)."""
        hours = dt_s / 3600.0
        if self.power_w >= 0:
            self.import_wh += self.power_w * hours
        else:
            self.export_wh += -self.power_w * hours
        self.power_w = self.site_power_w(now)


class MeterDevice(SunSpecDevice):
    """Three-phase wye grid meter (SunSpec 203) whose power is the site's net load."""

    def __init__(
        self,
        device_id: str,
        *,
        base_load: BaseLoad = 20_000.0,
        other_loads: Sequence[Callable[[], float]] = (),
        battery: Battery | None = None,
        unit_id: int = 1,
        base: int = 40000,
        max_w: float = 250_000.0,
        start: float = 0.0,
        import_wh: float = 0.0,
        export_wh: float = 0.0,
    ) -> None:
        common = common_block(
            manufacturer="PileBridge", model="SimMeter-203", version="1.0.0",
            serial=f"PBMTR-{unit_id:03d}", unit_id=unit_id,
        )  # fmt: skip
        blocks = [common, ModelBlock(203, MODEL_TABLES[203])]
        super().__init__(device_id, RegisterImage(blocks, base), start)
        self.site = SiteMeter(
            base_load=base_load, other_loads=other_loads, battery=battery, start=start,
            import_wh=import_wh, export_wh=export_wh,
        )  # fmt: skip
        w_sf = fit_scale_factor(max_w, "int16", finest=0)
        self.set_values(203, {
            "A_SF": -1, "V_SF": -1, "Hz_SF": -2, "W_SF": w_sf, "VA_SF": w_sf,
            "VAR_SF": w_sf, "PF_SF": -2, "TotWh_SF": 0, "Evt": 0,
        })  # fmt: skip
        self.refresh(start)

    @property
    def power_w(self) -> float:
        return self.site.power_w

    @property
    def import_wh(self) -> float:
        return self.site.import_wh

    @property
    def export_wh(self) -> float:
        return self.site.export_wh

    @property
    def other_loads(self) -> list[Callable[[], float]]:
        return self.site.other_loads

    def site_power_w(self, now: float) -> float:
        return self.site.site_power_w(now)

    def writable_points(self) -> frozenset[tuple[int, str]]:
        return frozenset({(1, "DA")})

    def apply(self, model_id: int, name: str, value: PointValue, now: float) -> None:
        """Only the device address is writable on a meter; it is stored as written."""

    def checkpoint(self) -> object:
        return None

    def rollback(self, saved: object) -> None:
        """Nothing to undo: a meter write changes no behaviour."""

    def settle(self, now: float) -> None:
        self.site.power_w = self.site.site_power_w(now)

    def advance(self, now: float) -> None:
        self.site.advance(now - self.t, now)

    def refresh(self, now: float) -> None:
        w = self.power_w
        wa, wb, wc = self.site.phase_split_w()
        aa, ab, ac = (x / GRID_LN_V for x in (wa, wb, wc))
        ll = GRID_LN_V * math.sqrt(3)
        self.set_values(203, {
            "A": aa + ab + ac, "AphA": aa, "AphB": ab, "AphC": ac,
            "PhV": GRID_LN_V, "PhVphA": GRID_LN_V, "PhVphB": GRID_LN_V, "PhVphC": GRID_LN_V,
            "PPV": ll, "PhVphAB": ll, "PhVphBC": ll, "PhVphCA": ll, "Hz": GRID_HZ,
            "W": w, "WphA": wa, "WphB": wb, "WphC": wc,
            "VA": abs(w), "VAphA": abs(wa), "VAphB": abs(wb), "VAphC": abs(wc),
            "VAR": 0, "PF": 1.0 if w else None,
            "TotWhImp": self.import_wh, "TotWhExp": self.export_wh,
            **{f"TotWhImpPh{p}": self.import_wh / 3 for p in "ABC"},
            **{f"TotWhExpPh{p}": self.export_wh / 3 for p in "ABC"},
        })  # fmt: skip
