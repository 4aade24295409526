"""Point tables of the common model and the legacy (SunSpec 1.0 era) inverter/meter models.

Source: SunSpec models repository (github.com/sunspec/models, ``json/model_1.json``,
``model_103.json``, ``model_124.json``, ``model_203.json``); these are the models most
installed storage inverters and grid meters in the field still expose.
"""

from __future__ import annotations

from .points import Point, pt

__all__ = ["MODEL_1", "MODEL_103", "MODEL_124", "MODEL_203"]

# Model 1 "Common", L = 66.
MODEL_1: tuple[Point, ...] = (
    pt("Mn", "string", size=16),
    pt("Md", "string", size=16),
    pt("Opt", "string", size=8),
    pt("Vr", "string", size=8),
    pt("SN", "string", size=16),
    pt("DA", "uint16", rw=True),
    pt("Pad", "pad"),
)

# Model 103 "Inverter (Three Phase)", L = 50. W is positive when the inverter delivers
# AC power (discharging a battery), negative while it absorbs power to charge one.
# WH is an acc32 lifetime counter of delivered energy.
MODEL_103: tuple[Point, ...] = (
    pt("A", "uint16", "A_SF"),
    pt("AphA", "uint16", "A_SF"),
    pt("AphB", "uint16", "A_SF"),
    pt("AphC", "uint16", "A_SF"),
    pt("A_SF", "sunssf"),
    pt("PPVphAB", "uint16", "V_SF"),
    pt("PPVphBC", "uint16", "V_SF"),
    pt("PPVphCA", "uint16", "V_SF"),
    pt("PhVphA", "uint16", "V_SF"),
    pt("PhVphB", "uint16", "V_SF"),
    pt("PhVphC", "uint16", "V_SF"),
    pt("V_SF", "sunssf"),
    pt("W", "int16", "W_SF"),
    pt("W_SF", "sunssf"),
    pt("Hz", "uint16", "Hz_SF"),
    pt("Hz_SF", "sunssf"),
    pt("VA", "int16", "VA_SF"),
    pt("VA_SF", "sunssf"),
    pt("VAr", "int16", "VAr_SF"),
    pt("VAr_SF", "sunssf"),
    pt("PF", "int16", "PF_SF"),
    pt("PF_SF", "sunssf"),
    pt("WH", "acc32", "WH_SF"),
    pt("WH_SF", "sunssf"),
    pt("DCA", "uint16", "DCA_SF"),
    pt("DCA_SF", "sunssf"),
    pt("DCV", "uint16", "DCV_SF"),
    pt("DCV_SF", "sunssf"),
    pt("DCW", "int16", "DCW_SF"),
    pt("DCW_SF", "sunssf"),
    pt("TmpCab", "int16", "Tmp_SF"),
    pt("TmpSnk", "int16", "Tmp_SF"),
    pt("TmpTrns", "int16", "Tmp_SF"),
    pt("TmpOt", "int16", "Tmp_SF"),
    pt("Tmp_SF", "sunssf"),
    pt("St", "enum16"),  # 1 off, 2 sleeping, 3 starting, 4 MPPT, 5 throttled, ..., 8 standby
    pt("StVnd", "enum16"),
    pt("Evt1", "bitfield32"),
    pt("Evt2", "bitfield32"),
    pt("EvtVnd1", "bitfield32"),
    pt("EvtVnd2", "bitfield32"),
    pt("EvtVnd3", "bitfield32"),
    pt("EvtVnd4", "bitfield32"),
)

# Model 124 "Basic Storage Controls", L = 24. StorCtl_Mod is a bitfield: bit 0 CHARGE
# (InWRte applies), bit 1 DISCHARGE (OutWRte applies). InWRte / OutWRte are percent of
# WChaMax; ChaSt: 1 off, 2 empty, 3 discharging, 4 charging, 5 full, 6 holding, 7 testing.
MODEL_124: tuple[Point, ...] = (
    pt("WChaMax", "uint16", "WChaMax_SF", rw=True),
    pt("WChaGra", "uint16", "WChaDisChaGra_SF", rw=True),
    pt("WDisChaGra", "uint16", "WChaDisChaGra_SF", rw=True),
    pt("StorCtl_Mod", "bitfield16", rw=True),
    pt("VAChaMax", "uint16", "VAChaMax_SF", rw=True),
    pt("MinRsvPct", "uint16", "MinRsvPct_SF", rw=True),
    pt("ChaState", "uint16", "ChaState_SF"),
    pt("StorAval", "uint16", "StorAval_SF"),
    pt("InBatV", "uint16", "InBatV_SF"),
    pt("ChaSt", "enum16"),
    pt("OutWRte", "int16", "InOutWRte_SF", rw=True),
    pt("InWRte", "int16", "InOutWRte_SF", rw=True),
    pt("InOutWRte_WinTms", "uint16", rw=True),
    pt("InOutWRte_RvrtTms", "uint16", rw=True),
    pt("InOutWRte_RmpTms", "uint16", rw=True),
    pt("ChaGriSet", "enum16", rw=True),  # 0 PV, 1 grid
    pt("WChaMax_SF", "sunssf"),
    pt("WChaDisChaGra_SF", "sunssf"),
    pt("VAChaMax_SF", "sunssf"),
    pt("MinRsvPct_SF", "sunssf"),
    pt("ChaState_SF", "sunssf"),
    pt("StorAval_SF", "sunssf"),
    pt("InBatV_SF", "sunssf"),
    pt("InOutWRte_SF", "sunssf"),
)


def _meter_quad(prefix: str, sf: str, kind: str) -> tuple[Point, ...]:
    """A total and its three phase values (``W``, ``WphA`` ...), model 203 naming."""
    return tuple(pt(f"{prefix}{sfx}", kind, sf) for sfx in ("", "phA", "phB", "phC"))


def _meter_energy(prefix: str, sf: str) -> tuple[Point, ...]:
    """An acc32 energy total and its phase values (``TotWhExp``, ``TotWhExpPhA`` ...)."""
    return tuple(pt(f"{prefix}{sfx}", "acc32", sf) for sfx in ("", "PhA", "PhB", "PhC"))


# Model 203 "Meter (Wye-Connect Three Phase, abcn)", L = 105. Meter convention: W
# positive = real power imported from the grid into the site, negative = export;
# TotWhImp counts imported energy, TotWhExp exported energy (acc32).
MODEL_203: tuple[Point, ...] = (
    *_meter_quad("A", "A_SF", "int16"),
    pt("A_SF", "sunssf"),
    pt("PhV", "int16", "V_SF"),
    pt("PhVphA", "int16", "V_SF"),
    pt("PhVphB", "int16", "V_SF"),
    pt("PhVphC", "int16", "V_SF"),
    pt("PPV", "int16", "V_SF"),
    pt("PhVphAB", "int16", "V_SF"),
    pt("PhVphBC", "int16", "V_SF"),
    pt("PhVphCA", "int16", "V_SF"),
    pt("V_SF", "sunssf"),
    pt("Hz", "int16", "Hz_SF"),
    pt("Hz_SF", "sunssf"),
    *_meter_quad("W", "W_SF", "int16"),
    pt("W_SF", "sunssf"),
    *_meter_quad("VA", "VA_SF", "int16"),
    pt("VA_SF", "sunssf"),
    *_meter_quad("VAR", "VAR_SF", "int16"),
    pt("VAR_SF", "sunssf"),
    *_meter_quad("PF", "PF_SF", "int16"),
    pt("PF_SF", "sunssf"),
    *_meter_energy("TotWhExp", "TotWh_SF"),
    *_meter_energy("TotWhImp", "TotWh_SF"),
    pt("TotWh_SF", "sunssf"),
    *_meter_energy("TotVAhExp", "TotVAh_SF"),
    *_meter_energy("TotVAhImp", "TotVAh_SF"),
    pt("TotVAh_SF", "sunssf"),
    *_meter_energy("TotVArhImpQ1", "TotVArh_SF"),
    *_meter_energy("TotVArhImpQ2", "TotVArh_SF"),
    *_meter_energy("TotVArhExpQ3", "TotVArh_SF"),
    *_meter_energy("TotVArhExpQ4", "TotVArh_SF"),
    pt("TotVArh_SF", "sunssf"),
    pt("Evt", "bitfield32"),
)
