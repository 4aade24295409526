"""Point tables of the SunSpec DER information models used by the storage profile.

Source: SunSpec models repository (github.com/sunspec/models, ``json/model_<id>.json``,
the DER models 701-713 as published with IEEE 1547 support, and the battery base model
802 from the Energy Storage Models specification). Points are listed in register order;
the model length ``L`` is the sum of the point sizes (the ID and L registers excluded).
"""

from __future__ import annotations

from .points import Point, pt

__all__ = ["MODEL_701", "MODEL_704", "MODEL_713", "MODEL_802"]


def _phase_701(phase: str, ll: str) -> tuple[Point, ...]:
    """Per-phase block of model 701 (``WL1`` ... ``TotVarhAbsL1``)."""
    return (
        pt(f"W{phase}", "int16", "W_SF"),
        pt(f"VA{phase}", "int16", "VA_SF"),
        pt(f"Var{phase}", "int16", "Var_SF"),
        pt(f"PF{phase}", "int16", "PF_SF"),
        pt(f"A{phase}", "int16", "A_SF"),
        pt(f"V{ll}", "uint16", "V_SF"),
        pt(f"V{phase}", "uint16", "V_SF"),
        pt(f"TotWhInj{phase}", "acc64", "TotWh_SF"),
        pt(f"TotWhAbs{phase}", "acc64", "TotWh_SF"),
        pt(f"TotVarhInj{phase}", "acc64", "TotVarh_SF"),
        pt(f"TotVarhAbs{phase}", "acc64", "TotVarh_SF"),
    )


# Model 701 "DER AC Measurement" (DERMeasureAC), L = 153.
# Sign (model 701 W, Var): positive = injected into the grid (generator convention),
# negative = absorbed from the grid, i.e. a battery inverter that charges reads W < 0.
MODEL_701: tuple[Point, ...] = (
    pt("ACType", "enum16"),  # 0 single phase, 1 split phase, 2 three phase
    pt("St", "enum16"),  # 0 off, 1 on
    pt("InvSt", "enum16"),  # 0 off, 1 sleeping, 2 starting, 3 running, 4 throttled ...
    pt("ConnSt", "enum16"),  # 0 disconnected, 1 connected
    pt("Alrm", "bitfield32"),
    pt("DERMode", "bitfield32"),
    pt("W", "int16", "W_SF"),
    pt("VA", "int16", "VA_SF"),
    pt("Var", "int16", "Var_SF"),
    pt("PF", "int16", "PF_SF"),
    pt("A", "int16", "A_SF"),
    pt("LLV", "uint16", "V_SF"),
    pt("LNV", "uint16", "V_SF"),
    pt("Hz", "uint32", "Hz_SF"),
    pt("TotWhInj", "acc64", "TotWh_SF"),
    pt("TotWhAbs", "acc64", "TotWh_SF"),
    pt("TotVarhInj", "acc64", "TotVarh_SF"),
    pt("TotVarhAbs", "acc64", "TotVarh_SF"),
    pt("TmpAmb", "int16", "Tmp_SF"),
    pt("TmpCab", "int16", "Tmp_SF"),
    pt("TmpSnk", "int16", "Tmp_SF"),
    pt("TmpTrns", "int16", "Tmp_SF"),
    pt("TmpSw", "int16", "Tmp_SF"),
    pt("TmpOt", "int16", "Tmp_SF"),
    *_phase_701("L1", "L1L2"),
    *_phase_701("L2", "L2L3"),
    *_phase_701("L3", "L3L1"),
    pt("ThrotPct", "uint16"),
    pt("ThrotSrc", "bitfield32"),
    pt("A_SF", "sunssf"),
    pt("V_SF", "sunssf"),
    pt("Hz_SF", "sunssf"),
    pt("W_SF", "sunssf"),
    pt("PF_SF", "sunssf"),
    pt("VA_SF", "sunssf"),
    pt("Var_SF", "sunssf"),
    pt("TotWh_SF", "sunssf"),
    pt("TotVarh_SF", "sunssf"),
    pt("Tmp_SF", "sunssf"),
    pt("MnAlrmInfo", "string", size=32),
)

# Model 704 "DER AC Controls" (DERCtlAC), L = 65: 57 registers of top-level points, then
# the repeating-free groups PFWInj, PFWInjRvrt, PFWAbs, PFWAbsRvrt (PF, Ext each).
# WSet (model 704 "Set Active Power Level (may be negative for charging)"): positive =
# inject / discharge, negative = absorb / charge. WSetMod: 0 = W_MAX_PCT, 1 = WATTS.
MODEL_704: tuple[Point, ...] = (
    pt("PFWInjEna", "enum16", rw=True),
    pt("PFWInjEnaRvrt", "enum16", rw=True),
    pt("PFWInjRvrtTms", "uint32", rw=True),
    pt("PFWInjRvrtRem", "uint32"),
    pt("PFWAbsEna", "enum16", rw=True),
    pt("PFWAbsEnaRvrt", "enum16", rw=True),
    pt("PFWAbsRvrtTms", "uint32", rw=True),
    pt("PFWAbsRvrtRem", "uint32"),
    pt("WMaxLimPctEna", "enum16", rw=True),
    pt("WMaxLimPct", "uint16", "WMaxLimPct_SF", rw=True),
    pt("WMaxLimPctRvrt", "uint16", "WMaxLimPct_SF", rw=True),
    pt("WMaxLimPctEnaRvrt", "enum16", rw=True),
    pt("WMaxLimPctRvrtTms", "uint32", rw=True),
    pt("WMaxLimPctRvrtRem", "uint32"),
    pt("WSetEna", "enum16", rw=True),
    pt("WSetMod", "enum16", rw=True),
    pt("WSet", "int32", "WSet_SF", rw=True),
    pt("WSetRvrt", "int32", "WSet_SF", rw=True),
    pt("WSetPct", "int16", "WSetPct_SF", rw=True),
    pt("WSetPctRvrt", "int16", "WSetPct_SF", rw=True),
    pt("WSetEnaRvrt", "enum16", rw=True),
    pt("WSetRvrtTms", "uint32", rw=True),
    pt("WSetRvrtRem", "uint32"),
    pt("VarSetEna", "enum16", rw=True),
    pt("VarSetMod", "enum16", rw=True),
    pt("VarSetPri", "enum16", rw=True),
    pt("VarSet", "int32", "VarSet_SF", rw=True),
    pt("VarSetRvrt", "int32", "VarSet_SF", rw=True),
    pt("VarSetPct", "int16", "VarSetPct_SF", rw=True),
    pt("VarSetPctRvrt", "int16", "VarSetPct_SF", rw=True),
    pt("VarSetEnaRvrt", "enum16", rw=True),
    pt("VarSetRvrtTms", "uint32", rw=True),
    pt("VarSetRvrtRem", "uint32"),
    pt("WRmp", "uint16", rw=True),
    pt("WRmpRef", "enum16", rw=True),
    pt("VarRmp", "uint16", rw=True),
    pt("AntiIslEna", "enum16", rw=True),
    pt("PF_SF", "sunssf"),
    pt("WMaxLimPct_SF", "sunssf"),
    pt("WSet_SF", "sunssf"),
    pt("WSetPct_SF", "sunssf"),
    pt("VarSet_SF", "sunssf"),
    pt("VarSetPct_SF", "sunssf"),
    pt("PFWInj.PF", "uint16", "PF_SF", rw=True),
    pt("PFWInj.Ext", "enum16", rw=True),
    pt("PFWInjRvrt.PF", "uint16", "PF_SF", rw=True),
    pt("PFWInjRvrt.Ext", "enum16", rw=True),
    pt("PFWAbs.PF", "uint16", "PF_SF", rw=True),
    pt("PFWAbs.Ext", "enum16", rw=True),
    pt("PFWAbsRvrt.PF", "uint16", "PF_SF", rw=True),
    pt("PFWAbsRvrt.Ext", "enum16", rw=True),
)

# Model 713 "DER Storage Capacity", L = 7. Sta: 0 OK, 1 warning, 2 error.
MODEL_713: tuple[Point, ...] = (
    pt("WHRtg", "uint16", "WH_SF"),
    pt("WHAvail", "uint16", "WH_SF"),
    pt("SoC", "uint16", "Pct_SF"),
    pt("SoH", "uint16", "Pct_SF"),
    pt("Sta", "enum16"),
    pt("WH_SF", "sunssf"),
    pt("Pct_SF", "sunssf"),
)

# Model 802 "Battery Base Model", L = 62. The point descriptions say only "to/from the
# battery bank"; this simulator reports A and W positive while discharging and negative
# while charging, the same sign as model 701 W (see docs/simulators.md).
MODEL_802: tuple[Point, ...] = (
    pt("AHRtg", "uint16", "AHRtg_SF"),
    pt("WHRtg", "uint16", "WHRtg_SF"),
    pt("WChaRteMax", "uint16", "WChaDisChaMax_SF"),
    pt("WDisChaRteMax", "uint16", "WChaDisChaMax_SF"),
    pt("DisChaRte", "uint16", "DisChaRte_SF"),
    pt("SoCMax", "uint16", "SoC_SF"),
    pt("SoCMin", "uint16", "SoC_SF"),
    pt("SocRsvMax", "uint16", "SoC_SF", rw=True),
    pt("SoCRsvMin", "uint16", "SoC_SF", rw=True),
    pt("SoC", "uint16", "SoC_SF"),
    pt("DoD", "uint16", "DoD_SF"),
    pt("SoH", "uint16", "SoH_SF"),
    pt("NCyc", "uint32"),
    pt("ChaSt", "enum16"),  # 1 off, 2 empty, 3 discharging, 4 charging, 5 full, 6 holding
    pt("LocRemCtl", "enum16"),  # 0 remote, 1 local
    pt("Hb", "uint16"),
    pt("CtrlHb", "uint16", rw=True),
    pt("AlmRst", "uint16", rw=True),
    pt("Typ", "enum16"),  # 4 lithium-ion
    pt("State", "enum16"),  # 1 disconnected, 2 initializing, 3 connected, 4 standby ...
    pt("StateVnd", "enum16"),
    pt("WarrDt", "uint32"),
    pt("Evt1", "bitfield32"),
    pt("Evt2", "bitfield32"),
    pt("EvtVnd1", "bitfield32"),
    pt("EvtVnd2", "bitfield32"),
    pt("V", "uint16", "V_SF"),
    pt("VMax", "uint16", "V_SF"),
    pt("VMin", "uint16", "V_SF"),
    pt("CellVMax", "uint16", "CellV_SF"),
    pt("CellVMaxStr", "uint16"),
    pt("CellVMaxMod", "uint16"),
    pt("CellVMin", "uint16", "CellV_SF"),
    pt("CellVMinStr", "uint16"),
    pt("CellVMinMod", "uint16"),
    pt("CellVAvg", "uint16", "CellV_SF"),
    pt("A", "int16", "A_SF"),
    pt("AChaMax", "uint16", "AMax_SF"),
    pt("ADisChaMax", "uint16", "AMax_SF"),
    pt("W", "int16", "W_SF"),
    pt("ReqInvState", "enum16"),
    pt("ReqW", "int16", "W_SF"),
    pt("SetOp", "enum16", rw=True),
    pt("SetInvState", "enum16", rw=True),
    pt("AHRtg_SF", "sunssf"),
    pt("WHRtg_SF", "sunssf"),
    pt("WChaDisChaMax_SF", "sunssf"),
    pt("DisChaRte_SF", "sunssf"),
    pt("SoC_SF", "sunssf"),
    pt("DoD_SF", "sunssf"),
    pt("SoH_SF", "sunssf"),
    pt("V_SF", "sunssf"),
    pt("CellV_SF", "sunssf"),
    pt("A_SF", "sunssf"),
    pt("AMax_SF", "sunssf"),
    pt("W_SF", "sunssf"),
)
