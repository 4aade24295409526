"""A battery inverter as a SunSpec device, in two register variants.

* ``sunspec`` (modern): models 1, 701 (AC measurement), 704 (AC controls, WSet),
  713 (storage capacity), 802 (battery base).
* ``sunspec-legacy``: models 1, 103 (three-phase inverter), 124 (basic storage controls).

Measured points follow the battery physics; controls drive it. Sign conversion happens
here and only here: the physics use load convention (> 0 charges), models 701, 103 and
802 report generator convention (> 0 injects / discharges).
"""

from __future__ import annotations

import copy
import math
from typing import cast

from .battery import Battery
from .controls import DerControls, StorageControls, integrate
from .device import SunSpecDevice, common_block
from .image import MODEL_TABLES, ModelBlock, RegisterImage
from .points import PointValue, fit_scale_factor

__all__ = ["PROFILES", "StorageDevice"]

PROFILES = ("sunspec", "sunspec-legacy")
GRID_LL_V = 400.0
GRID_LN_V = GRID_LL_V / math.sqrt(3)
GRID_HZ = 50.0
CELLS_IN_SERIES = 240

_DER_WRITABLE = frozenset(
    {(704, n) for n in ("WSetEna", "WSetMod", "WSet", "WSetRvrt", "WSetPct", "WSetPctRvrt",
                        "WSetEnaRvrt", "WSetRvrtTms")}
    | {(802, n) for n in ("CtrlHb", "AlmRst", "SetOp", "SetInvState")}
    | {(1, "DA")}
)  # fmt: skip
_LEGACY_WRITABLE = frozenset(
    {(124, n) for n in ("WChaMax", "StorCtl_Mod", "MinRsvPct", "OutWRte", "InWRte",
                        "InOutWRte_RvrtTms", "WChaGra", "WDisChaGra", "ChaGriSet")}
    | {(1, "DA")}
)  # fmt: skip


class StorageDevice(SunSpecDevice):
    """Battery inverter: battery physics behind a SunSpec storage register map."""

    def __init__(
        self,
        device_id: str,
        battery: Battery,
        *,
        profile: str = "sunspec",
        unit_id: int = 1,
        base: int = 40000,
        start: float = 0.0,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
        self.profile = profile
        self.battery = battery
        p = battery.params
        self.w_sf = fit_scale_factor(
            max(p.max_charge_w, p.max_discharge_w) * 1.1, "int16", finest=0
        )
        common = common_block(
            manufacturer="PileBridge",
            model="SimBESS-A" if profile == "sunspec" else "SimBESS-L",
            version="1.0.0",
            serial=f"PBSIM-{unit_id:03d}-{int(p.capacity_wh / 1000)}",
            unit_id=unit_id,
        )
        ids = (701, 704, 713, 802) if profile == "sunspec" else (103, 124)
        blocks = [common, *(ModelBlock(i, MODEL_TABLES[i]) for i in ids)]
        super().__init__(device_id, RegisterImage(blocks, base), start)
        self.der = DerControls(p.max_charge_w, p.max_discharge_w)
        self.storage = StorageControls(p.max_charge_w)
        self._static_values()
        self.refresh(start)

    @property
    def controls(self) -> DerControls | StorageControls:
        return self.der if self.profile == "sunspec" else self.storage

    def writable_points(self) -> frozenset[tuple[int, str]]:
        return _DER_WRITABLE if self.profile == "sunspec" else _LEGACY_WRITABLE

    def apply(self, model_id: int, name: str, value: PointValue, now: float) -> None:
        if not isinstance(value, int | float):
            raise ValueError(f"{name}: numeric value expected")
        if model_id == 704:
            self.der.write(name, value, now)
        elif model_id == 124 and name == "MinRsvPct":
            if not 0 <= value <= 100:
                raise ValueError("MinRsvPct outside 0..100 %")
            self.battery.soc_floor_pct = float(value)
        elif model_id == 124 and name in ("WChaMax", "StorCtl_Mod", "InWRte", "OutWRte",
                                          "InOutWRte_RvrtTms"):  # fmt: skip
            self.storage.write(name, value, now)
        # other writable points (DA, SetOp, CtrlHb, ...) are stored as written

    def checkpoint(self) -> object:
        return copy.deepcopy((self.der, self.storage, self.battery.soc_floor_pct))

    def rollback(self, saved: object) -> None:
        state = cast(tuple[DerControls, StorageControls, float], saved)
        self.der, self.storage, self.battery.soc_floor_pct = state

    def settle(self, now: float) -> None:
        self.battery.step(0.0, self.controls.requested_w())

    def advance(self, now: float) -> None:
        ctl = self.controls
        for at in integrate(self.battery, ctl, self.t, now):
            self.log.info("setpoint_reverted", at=at, reverted=ctl.reverted)

    def _static_values(self) -> None:
        p = self.battery.params
        if self.profile == "sunspec":
            self.set_values(701, {
                "ACType": 2, "St": 1, "ConnSt": 1, "Alrm": 0, "Var": 0, "TmpAmb": 25.0,
                "A_SF": -1, "V_SF": -1, "Hz_SF": -3, "W_SF": self.w_sf, "PF_SF": -2,
                "VA_SF": self.w_sf, "Var_SF": self.w_sf, "TotWh_SF": 0, "Tmp_SF": -1,
                "VarL1": 0, "VarL2": 0, "VarL3": 0,
            })  # fmt: skip
            self.set_values(704, {
                "WSet_SF": 0, "WSetPct_SF": -2, "WSetEna": 0, "WSetMod": 1, "WSet": 0,
                "WSetRvrt": 0, "WSetPct": 0, "WSetPctRvrt": 0, "WSetEnaRvrt": 0,
                "WSetRvrtTms": 0,
            })  # fmt: skip
            self.set_values(713, {
                "WH_SF": fit_scale_factor(p.capacity_wh, "uint16", finest=0), "Pct_SF": -1,
                "WHRtg": p.capacity_wh, "Sta": 0,
            })  # fmt: skip
            wsf = fit_scale_factor(p.capacity_wh, "uint16", finest=0)
            self.set_values(802, {
                "AHRtg": p.capacity_wh / p.nominal_v, "WHRtg": p.capacity_wh,
                "WChaRteMax": p.max_charge_w, "WDisChaRteMax": p.max_discharge_w,
                "SoCMax": p.soc_max_pct, "SoCMin": p.soc_min_pct, "LocRemCtl": 0,
                "AlmRst": 0, "Typ": 4, "Evt1": 0, "Evt2": 0, "SetOp": 1, "SetInvState": 3,
                "AHRtg_SF": 0, "WHRtg_SF": wsf, "WChaDisChaMax_SF": self.w_sf, "SoC_SF": -1,
                "DoD_SF": -1, "SoH_SF": 0, "V_SF": -1, "CellV_SF": -3, "A_SF": -1,
                "AMax_SF": -1, "W_SF": self.w_sf,
            })  # fmt: skip
        else:
            self.set_values(103, {
                "A_SF": -1, "V_SF": -1, "W_SF": self.w_sf, "Hz_SF": -2, "VA_SF": self.w_sf,
                "VAr_SF": self.w_sf, "VAr": 0, "WH_SF": 0, "DCA_SF": -1, "DCV_SF": -1,
                "DCW_SF": self.w_sf, "Tmp_SF": -1, "Evt1": 0, "Evt2": 0,
            })  # fmt: skip
            self.set_values(124, {
                "WChaMax_SF": fit_scale_factor(p.max_charge_w, "uint16", finest=0),
                "WChaDisChaGra_SF": 0, "MinRsvPct_SF": -1, "ChaState_SF": -1,
                "StorAval_SF": 0, "InBatV_SF": -1, "InOutWRte_SF": -2, "WChaGra": 100,
                "WDisChaGra": 100, "ChaGriSet": 1, "MinRsvPct": p.soc_min_pct,
            })  # fmt: skip

    def refresh(self, now: float) -> None:
        b = self.battery
        inject_w = 0.0 - b.power_w  # generator convention for 701 / 103 / 802 (no -0.0)
        phase_a = abs(inject_w) / 3 / GRID_LN_V
        running = abs(inject_w) > 0.5
        if self.profile == "sunspec":
            self.set_values(701, {
                "InvSt": 3 if running else 7, "W": inject_w, "VA": abs(inject_w),
                "PF": 1.0 if running else None, "A": phase_a * 3, "LLV": GRID_LL_V,
                "LNV": GRID_LN_V, "Hz": GRID_HZ, "TotWhInj": b.discharged_ac_wh,
                "TotWhAbs": b.charged_ac_wh, "TmpCab": 30.0 + 10.0 * abs(inject_w) / max(
                    b.params.max_discharge_w, 1.0),
                **{f"W{ph}": inject_w / 3 for ph in ("L1", "L2", "L3")},
                **{f"VA{ph}": abs(inject_w) / 3 for ph in ("L1", "L2", "L3")},
                **{f"A{ph}": phase_a for ph in ("L1", "L2", "L3")},
                **{f"V{ll}": GRID_LL_V for ll in ("L1L2", "L2L3", "L3L1")},
                **{f"V{ph}": GRID_LN_V for ph in ("L1", "L2", "L3")},
            })  # fmt: skip
            ctl = self.der
            self.set_values(704, {
                "WSetEna": ctl.ena, "WSet": ctl.wset_w, "WSetPct": ctl.wset_pct,
                "WSetRvrtRem": ctl.remaining_s(now),
            })  # fmt: skip
            soh = b.params.soh_pct
            self.set_values(713, {
                "WHAvail": b.params.capacity_wh * b.soc_pct / 100 * soh / 100,
                "SoC": b.soc_pct, "SoH": soh,
            })  # fmt: skip
            v = b.voltage_v
            self.set_values(802, {
                "SoC": b.soc_pct, "DoD": 100.0 - b.soc_pct, "SoH": soh, "NCyc": b.cycles,
                "ChaSt": self._cha_st(), "Hb": int(now) % 0xFFFF, "State": 3, "V": v,
                "VMax": b.params.nominal_v * 1.08, "VMin": b.params.nominal_v * 0.92,
                "CellVMax": v / CELLS_IN_SERIES + 0.01, "CellVMin": v / CELLS_IN_SERIES - 0.01,
                "CellVAvg": v / CELLS_IN_SERIES, "A": -b.current_a, "W": -b.dc_power_w,
                "AChaMax": b.params.max_charge_w / v, "ADisChaMax": b.params.max_discharge_w / v,
            })  # fmt: skip
        else:
            self.set_values(103, {
                "A": phase_a * 3, **{f"Aph{p}": phase_a for p in "ABC"},
                **{f"PPVph{p}": GRID_LL_V for p in ("AB", "BC", "CA")},
                **{f"PhVph{p}": GRID_LN_V for p in "ABC"},
                "W": inject_w, "Hz": GRID_HZ, "VA": abs(inject_w), "WH": b.discharged_ac_wh,
                "DCA": abs(b.current_a), "DCV": b.voltage_v, "DCW": -b.dc_power_w,
                "TmpCab": 30.0, "St": 4 if running else 8,
            })  # fmt: skip
            ctl_s = self.storage
            floor = max(b.soc_floor_pct, b.params.soc_min_pct)
            ah = b.params.capacity_wh / b.params.nominal_v
            self.set_values(124, {
                "WChaMax": ctl_s.wcha_max, "StorCtl_Mod": ctl_s.storctl_mod,
                "ChaState": b.soc_pct, "StorAval": max(b.soc_pct - floor, 0.0) / 100 * ah,
                "InBatV": b.voltage_v, "ChaSt": self._cha_st(), "OutWRte": ctl_s.out_w_rte,
                "InWRte": ctl_s.in_w_rte, "InOutWRte_RvrtTms": ctl_s.rvrt_tms,
            })  # fmt: skip

    def _cha_st(self) -> int:
        """ChaSt (models 124 and 802): 2 empty, 3 discharging, 4 charging, 5 full, 6 holding."""
        b = self.battery
        if b.power_w > 0.5:
            return 4
        if b.power_w < -0.5:
            return 3
        if b.soc_pct >= b.params.soc_max_pct - 1e-6:
            return 5
        if b.soc_pct <= max(b.soc_floor_pct, b.params.soc_min_pct) + 1e-6:
            return 2
        return 6
