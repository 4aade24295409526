"""SunSpec model point tables, from the SunSpec Information Model Reference (sunspec/models JSON).

Each table lists a model's points in register order after the ID and L header, with type,
size in registers, scale-factor point and units. Offsets are computed from that order, so a
table reads like the spec it was typed from. Only the models PileBridge uses are here:

* 1 common (identity); 101/102/103 inverter (1-, split-, 3-phase; one layout);
  124 basic storage controls; 201-204 meters (one layout)
* 701 DER AC measurement; 704 DER AC controls; 713 DER storage capacity; 802 battery base

A device may report a shorter L than the table (older revisions, e.g. 713 without Pct_SF):
points beyond L are treated as absent.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.modbus.registers import REGISTER_COUNT, RegType

__all__ = ["END_MODEL_ID", "MODELS", "SUNSPEC_BASES", "SUNS_MARKER", "ModelTable", "Point"]

SUNS_MARKER = (0x5375, 0x6E53)
"""`SunS` in the two registers at the base address."""
SUNSPEC_BASES = (40000, 0, 50000)
"""Where devices put the map (0-based PDU addresses), in the order the spec suggests."""
END_MODEL_ID = 0xFFFF


@dataclass(frozen=True, slots=True)
class Point:
    name: str
    offset: int
    """Registers from the model's ID register (ID = 0, L = 1, first point = 2)."""
    reg_type: RegType
    size: int
    sf: str | None = None
    units: str = ""
    writable: bool = False


@dataclass(frozen=True, slots=True)
class ModelTable:
    model_id: int
    name: str
    points: dict[str, Point]

    @property
    def length(self) -> int:
        """L as the spec gives it (registers after the header)."""
        return max(p.offset + p.size for p in self.points.values()) - 2


def _table(model_id: int, name: str, rows: list[tuple[object, ...]]) -> ModelTable:
    """rows: (name, type[, size][, sf][, units][, "RW"]) in register order."""
    points: dict[str, Point] = {}
    offset = 2
    for row in rows:
        pname, rtype, *rest = row
        size = REGISTER_COUNT.get(str(rtype), 0)
        sf: str | None = None
        units = ""
        writable = False
        for item in rest:
            if isinstance(item, int):
                size = item
            elif item == "RW":
                writable = True
            elif isinstance(item, str) and item.endswith("_SF"):
                sf = item
            elif isinstance(item, str):
                units = item
        assert size > 0, pname
        if pname != "-":
            points[str(pname)] = Point(str(pname), offset, rtype, size, sf, units, writable)  # type: ignore[arg-type]
        offset += size
    return ModelTable(model_id, name, points)


COMMON = _table(
    1,
    "common",
    [("Mn", "string", 16), ("Md", "string", 16), ("Opt", "string", 8), ("Vr", "string", 8),
     ("SN", "string", 16), ("DA", "uint16"), ("Pad", "uint16")],
)  # fmt: skip

_INVERTER_ROWS: list[tuple[object, ...]] = [
    ("A", "uint16", "A_SF", "A"), ("AphA", "uint16", "A_SF", "A"), ("AphB", "uint16", "A_SF", "A"),
    ("AphC", "uint16", "A_SF", "A"), ("A_SF", "sunssf"),
    ("PPVphAB", "uint16", "V_SF", "V"), ("PPVphBC", "uint16", "V_SF", "V"),
    ("PPVphCA", "uint16", "V_SF", "V"), ("PhVphA", "uint16", "V_SF", "V"),
    ("PhVphB", "uint16", "V_SF", "V"), ("PhVphC", "uint16", "V_SF", "V"), ("V_SF", "sunssf"),
    ("W", "int16", "W_SF", "W"), ("W_SF", "sunssf"), ("Hz", "uint16", "Hz_SF", "Hz"),
    ("Hz_SF", "sunssf"), ("VA", "int16", "VA_SF", "VA"), ("VA_SF", "sunssf"),
    ("VAr", "int16", "VAr_SF", "var"), ("VAr_SF", "sunssf"), ("PF", "int16", "PF_SF", "Pct"),
    ("PF_SF", "sunssf"), ("WH", "acc32", "WH_SF", "Wh"), ("WH_SF", "sunssf"),
    ("DCA", "uint16", "DCA_SF", "A"), ("DCA_SF", "sunssf"), ("DCV", "uint16", "DCV_SF", "V"),
    ("DCV_SF", "sunssf"), ("DCW", "int16", "DCW_SF", "W"), ("DCW_SF", "sunssf"),
    ("TmpCab", "int16", "Tmp_SF", "C"), ("TmpSnk", "int16", "Tmp_SF", "C"),
    ("TmpTrns", "int16", "Tmp_SF", "C"), ("TmpOt", "int16", "Tmp_SF", "C"), ("Tmp_SF", "sunssf"),
    ("St", "enum16"), ("StVnd", "enum16"), ("Evt1", "bitfield32"), ("Evt2", "bitfield32"),
    ("EvtVnd1", "bitfield32"), ("EvtVnd2", "bitfield32"), ("EvtVnd3", "bitfield32"),
    ("EvtVnd4", "bitfield32"),
]  # fmt: skip
"""Models 101, 102 and 103 share this layout (L = 50); W is the inverter's AC output."""

STORAGE_124 = _table(
    124,
    "storage",
    [("WChaMax", "uint16", "WChaMax_SF", "W", "RW"), ("WChaGra", "uint16", "WChaDisChaGra_SF", "RW"),
     ("WDisChaGra", "uint16", "WChaDisChaGra_SF", "RW"), ("StorCtl_Mod", "bitfield16", "RW"),
     ("VAChaMax", "uint16", "VAChaMax_SF", "VA", "RW"), ("MinRsvPct", "uint16", "MinRsvPct_SF", "RW"),
     ("ChaState", "uint16", "ChaState_SF", "Pct"), ("StorAval", "uint16", "StorAval_SF", "Ah"),
     ("InBatV", "uint16", "InBatV_SF", "V"), ("ChaSt", "enum16"),
     ("OutWRte", "int16", "InOutWRte_SF", "Pct", "RW"), ("InWRte", "int16", "InOutWRte_SF", "Pct", "RW"),
     ("InOutWRte_WinTms", "uint16", "Secs", "RW"), ("InOutWRte_RvrtTms", "uint16", "Secs", "RW"),
     ("InOutWRte_RmpTms", "uint16", "Secs", "RW"), ("ChaGriSet", "enum16", "RW"),
     ("WChaMax_SF", "sunssf"), ("WChaDisChaGra_SF", "sunssf"), ("VAChaMax_SF", "sunssf"),
     ("MinRsvPct_SF", "sunssf"), ("ChaState_SF", "sunssf"), ("StorAval_SF", "sunssf"),
     ("InBatV_SF", "sunssf"), ("InOutWRte_SF", "sunssf")],
)  # fmt: skip

_ACC = "acc32"
_METER_ROWS: list[tuple[object, ...]] = [
    ("A", "int16", "A_SF", "A"), ("AphA", "int16", "A_SF", "A"), ("AphB", "int16", "A_SF", "A"),
    ("AphC", "int16", "A_SF", "A"), ("A_SF", "sunssf"),
    ("PhV", "int16", "V_SF", "V"), ("PhVphA", "int16", "V_SF", "V"), ("PhVphB", "int16", "V_SF", "V"),
    ("PhVphC", "int16", "V_SF", "V"), ("PPV", "int16", "V_SF", "V"), ("PhVphAB", "int16", "V_SF", "V"),
    ("PhVphBC", "int16", "V_SF", "V"), ("PhVphCA", "int16", "V_SF", "V"), ("V_SF", "sunssf"),
    ("Hz", "int16", "Hz_SF", "Hz"), ("Hz_SF", "sunssf"),
    ("W", "int16", "W_SF", "W"), ("WphA", "int16", "W_SF", "W"), ("WphB", "int16", "W_SF", "W"),
    ("WphC", "int16", "W_SF", "W"), ("W_SF", "sunssf"),
    ("VA", "int16"), ("VAphA", "int16"), ("VAphB", "int16"), ("VAphC", "int16"), ("VA_SF", "sunssf"),
    ("VAR", "int16"), ("VARphA", "int16"), ("VARphB", "int16"), ("VARphC", "int16"), ("VAR_SF", "sunssf"),
    ("PF", "int16"), ("PFphA", "int16"), ("PFphB", "int16"), ("PFphC", "int16"), ("PF_SF", "sunssf"),
    ("TotWhExp", _ACC, "TotWh_SF", "Wh"), ("TotWhExpPhA", _ACC, "TotWh_SF", "Wh"),
    ("TotWhExpPhB", _ACC, "TotWh_SF", "Wh"), ("TotWhExpPhC", _ACC, "TotWh_SF", "Wh"),
    ("TotWhImp", _ACC, "TotWh_SF", "Wh"), ("TotWhImpPhA", _ACC, "TotWh_SF", "Wh"),
    ("TotWhImpPhB", _ACC, "TotWh_SF", "Wh"), ("TotWhImpPhC", _ACC, "TotWh_SF", "Wh"),
    ("TotWh_SF", "sunssf"),
    ("-", _ACC, 16), ("TotVAh_SF", "sunssf"), ("-", _ACC, 32), ("TotVArh_SF", "sunssf"),
    ("Evt", "bitfield32"),
]  # fmt: skip
"""Models 201-204 (single, split, wye, delta meters) share this layout (L = 105)."""

_701_PHASE: list[tuple[object, ...]] = []
for _ph, _ll in (("L1", "L1L2"), ("L2", "L2L3"), ("L3", "L3L1")):
    _701_PHASE += [
        (f"W{_ph}", "int16", "W_SF", "W"), (f"VA{_ph}", "int16", "VA_SF"), (f"Var{_ph}", "int16", "Var_SF"),
        (f"PF{_ph}", "uint16", "PF_SF"), (f"A{_ph}", "int16", "A_SF", "A"), (f"V{_ll}", "uint16", "V_SF", "V"),
        (f"V{_ph}", "uint16", "V_SF", "V"), (f"TotWhInj{_ph}", "acc64", "TotWh_SF", "Wh"),
        (f"TotWhAbs{_ph}", "acc64", "TotWh_SF", "Wh"), (f"TotVarhInj{_ph}", "acc64", "TotVarh_SF"),
        (f"TotVarhAbs{_ph}", "acc64", "TotVarh_SF"),
    ]  # fmt: skip

DER_MEASURE_AC = _table(
    701,
    "DERMeasureAC",
    [("ACType", "enum16"), ("St", "enum16"), ("InvSt", "enum16"), ("ConnSt", "enum16"),
     ("Alrm", "bitfield32"), ("DERMode", "bitfield32"), ("W", "int16", "W_SF", "W"),
     ("VA", "int16", "VA_SF", "VA"), ("Var", "int16", "Var_SF", "var"), ("PF", "uint16", "PF_SF"),
     ("A", "int16", "A_SF", "A"), ("LLV", "uint16", "V_SF", "V"), ("LNV", "uint16", "V_SF", "V"),
     ("Hz", "uint32", "Hz_SF", "Hz"), ("TotWhInj", "acc64", "TotWh_SF", "Wh"),
     ("TotWhAbs", "acc64", "TotWh_SF", "Wh"), ("TotVarhInj", "acc64", "TotVarh_SF"),
     ("TotVarhAbs", "acc64", "TotVarh_SF"), ("TmpAmb", "int16", "Tmp_SF", "C"),
     ("TmpCab", "int16", "Tmp_SF", "C"), ("TmpSnk", "int16", "Tmp_SF", "C"),
     ("TmpTrns", "int16", "Tmp_SF", "C"), ("TmpSw", "int16", "Tmp_SF", "C"),
     ("TmpOt", "int16", "Tmp_SF", "C"), *_701_PHASE, ("ThrotPct", "uint16"),
     ("ThrotSrc", "bitfield32"), ("A_SF", "sunssf"), ("V_SF", "sunssf"), ("Hz_SF", "sunssf"),
     ("W_SF", "sunssf"), ("PF_SF", "sunssf"), ("VA_SF", "sunssf"), ("Var_SF", "sunssf"),
     ("TotWh_SF", "sunssf"), ("TotVarh_SF", "sunssf"), ("Tmp_SF", "sunssf"),
     ("MnAlrmInfo", "string", 32)],
)  # fmt: skip

DER_CTL_AC = _table(
    704,
    "DERCtlAC",
    [("PFWInjEna", "enum16", "RW"), ("PFWInjEnaRvrt", "enum16", "RW"),
     ("PFWInjRvrtTms", "uint32", "RW"), ("PFWInjRvrtRem", "uint32"),
     ("PFWAbsEna", "enum16", "RW"), ("PFWAbsEnaRvrt", "enum16", "RW"),
     ("PFWAbsRvrtTms", "uint32", "RW"), ("PFWAbsRvrtRem", "uint32"),
     ("WMaxLimPctEna", "enum16", "RW"), ("WMaxLimPct", "uint16", "WMaxLimPct_SF", "RW"),
     ("WMaxLimPctRvrt", "uint16", "WMaxLimPct_SF", "RW"), ("WMaxLimPctEnaRvrt", "enum16", "RW"),
     ("WMaxLimPctRvrtTms", "uint32", "RW"), ("WMaxLimPctRvrtRem", "uint32"),
     ("WSetEna", "enum16", "RW"), ("WSetMod", "enum16", "RW"),
     ("WSet", "int32", "WSet_SF", "W", "RW"), ("WSetRvrt", "int32", "WSet_SF", "W", "RW"),
     ("WSetPct", "int16", "WSetPct_SF", "RW"), ("WSetPctRvrt", "int16", "WSetPct_SF", "RW"),
     ("WSetEnaRvrt", "enum16", "RW"), ("WSetRvrtTms", "uint32", "Secs", "RW"),
     ("WSetRvrtRem", "uint32", "Secs"),
     ("VarSetEna", "enum16", "RW"), ("VarSetMod", "enum16", "RW"), ("VarSetPri", "enum16", "RW"),
     ("VarSet", "int32", "VarSet_SF", "RW"), ("VarSetRvrt", "int32", "VarSet_SF", "RW"),
     ("VarSetPct", "int16", "VarSetPct_SF", "RW"), ("VarSetPctRvrt", "int16", "VarSetPct_SF", "RW"),
     ("VarSetEnaRvrt", "enum16", "RW"), ("VarSetRvrtTms", "uint32", "RW"), ("VarSetRvrtRem", "uint32"),
     ("WRmp", "uint16", "RW"), ("WRmpRef", "enum16", "RW"), ("VarRmp", "uint16", "RW"),
     ("AntiIslEna", "enum16", "RW"),
     ("PF_SF", "sunssf"), ("WMaxLimPct_SF", "sunssf"), ("WSet_SF", "sunssf"),
     ("WSetPct_SF", "sunssf"), ("VarSet_SF", "sunssf"), ("VarSetPct_SF", "sunssf"),
     ("PFWInj.PF", "uint16", "PF_SF", "RW"), ("PFWInj.Ext", "enum16", "RW"),
     ("PFWInjRvrt.PF", "uint16", "PF_SF", "RW"), ("PFWInjRvrt.Ext", "enum16", "RW"),
     ("PFWAbs.PF", "uint16", "PF_SF", "RW"), ("PFWAbs.Ext", "enum16", "RW"),
     ("PFWAbsRvrt.PF", "uint16", "PF_SF", "RW"), ("PFWAbsRvrt.Ext", "enum16", "RW")],
)  # fmt: skip
"""704 WSetMod: 0 = percent of WMax, 1 = watts; WSetEna/WSetEnaRvrt: 0 off, 1 on."""

DER_STORAGE_CAPACITY = _table(
    713,
    "DERStorageCapacity",
    [("WHRtg", "uint16", "WH_SF", "Wh"), ("WHAvail", "uint16", "WH_SF", "Wh"),
     ("SoC", "uint16", "Pct_SF", "Pct"), ("SoH", "uint16", "Pct_SF", "Pct"), ("Sta", "enum16"),
     ("WH_SF", "sunssf"), ("Pct_SF", "sunssf")],
)  # fmt: skip

BATTERY_802 = _table(
    802,
    "battery",
    [("AHRtg", "uint16", "AHRtg_SF", "Ah"), ("WHRtg", "uint16", "WHRtg_SF", "Wh"),
     ("WChaRteMax", "uint16", "WChaDisChaMax_SF", "W"), ("WDisChaRteMax", "uint16", "WChaDisChaMax_SF", "W"),
     ("DisChaRte", "uint16", "DisChaRte_SF"), ("SoCMax", "uint16", "SoC_SF", "Pct"),
     ("SoCMin", "uint16", "SoC_SF", "Pct"), ("SoCRsvMax", "uint16", "SoC_SF", "RW"),
     ("SoCRsvMin", "uint16", "SoC_SF", "RW"), ("SoC", "uint16", "SoC_SF", "Pct"),
     ("DoD", "uint16", "DoD_SF"), ("SoH", "uint16", "SoH_SF", "Pct"), ("NCyc", "uint32"),
     ("ChaSt", "enum16"), ("LocRemCtl", "enum16"), ("Hb", "uint16"), ("CtrlHb", "uint16", "RW"),
     ("AlmRst", "uint16", "RW"), ("Typ", "enum16"), ("State", "enum16"), ("StateVnd", "enum16"),
     ("WarrDt", "uint32"), ("Evt1", "bitfield32"), ("Evt2", "bitfield32"),
     ("EvtVnd1", "bitfield32"), ("EvtVnd2", "bitfield32"), ("V", "uint16", "V_SF", "V"),
     ("VMax", "uint16", "V_SF", "V"), ("VMin", "uint16", "V_SF", "V"),
     ("CellVMax", "uint16", "CellV_SF"), ("CellVMaxStr", "uint16"), ("CellVMaxMod", "uint16"),
     ("CellVMin", "uint16", "CellV_SF"), ("CellVMinStr", "uint16"), ("CellVMinMod", "uint16"),
     ("CellVAvg", "uint16", "CellV_SF"), ("A", "int16", "A_SF", "A"),
     ("AChaMax", "uint16", "AMax_SF", "A"), ("ADisChaMax", "uint16", "AMax_SF", "A"),
     ("W", "int16", "W_SF", "W"), ("ReqInvState", "enum16"), ("ReqW", "int16", "W_SF"),
     ("SetOp", "enum16", "RW"), ("SetInvState", "enum16", "RW"),
     ("AHRtg_SF", "sunssf"), ("WHRtg_SF", "sunssf"), ("WChaDisChaMax_SF", "sunssf"),
     ("DisChaRte_SF", "sunssf"), ("SoC_SF", "sunssf"), ("DoD_SF", "sunssf"), ("SoH_SF", "sunssf"),
     ("V_SF", "sunssf"), ("CellV_SF", "sunssf"), ("A_SF", "sunssf"), ("AMax_SF", "sunssf"),
     ("W_SF", "sunssf")],
)  # fmt: skip

MODELS: dict[int, ModelTable] = {
    1: COMMON,
    101: _table(101, "inverter", _INVERTER_ROWS),
    102: _table(102, "inverter", _INVERTER_ROWS),
    103: _table(103, "inverter", _INVERTER_ROWS),
    124: STORAGE_124,
    201: _table(201, "ac_meter", _METER_ROWS),
    202: _table(202, "ac_meter", _METER_ROWS),
    203: _table(203, "ac_meter", _METER_ROWS),
    204: _table(204, "ac_meter", _METER_ROWS),
    701: DER_MEASURE_AC,
    704: DER_CTL_AC,
    713: DER_STORAGE_CAPACITY,
    802: BATTERY_802,
}
