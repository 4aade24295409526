"""Turn a discovered SunSpec map into signals and a control, using what the device has.

Preference order per value (first present wins): DER models (701/713/802) before the
legacy ones (101-103/124). Sign conventions, converted to the gateway's load convention:

* 701 W, 10x W: generator convention (positive = injecting = discharging) → negated.
* 802 W and A: "to/from the battery bank"; read as positive when discharging, like 701 W
  (an assumption the spec leaves open; check each real device) → negated.
* 20x W: positive = import into the site, already load convention (flip with
  `invert_power` for meters wired or configured the other way).
"""

from __future__ import annotations

from typing import Literal

from drivers.modbus.control import Control
from drivers.modbus.profile import DeviceProfile
from drivers.modbus.signals import Signal
from drivers.modbus.sunspec.controls import Model124Control, Model704Control
from drivers.modbus.sunspec.discovery import ModelLocation, SunSpecMap
from drivers.modbus.sunspec.models import MODELS

__all__ = ["build_sunspec_profile"]

_STORAGE: list[tuple[str, tuple[int, ...], str, float]] = [
    # (capability, models in preference order, point, sign)
    ("power_w", (701,), "W", -1.0),
    ("power_w", (103, 102, 101), "W", -1.0),
    ("power_w", (802,), "W", -1.0),
    ("soc_pct", (713,), "SoC", 1.0),
    ("soc_pct", (802,), "SoC", 1.0),
    ("soc_pct", (124,), "ChaState", 1.0),
    ("soh_pct", (713,), "SoH", 1.0),
    ("soh_pct", (802,), "SoH", 1.0),
    ("voltage_v", (802,), "V", 1.0),
    ("voltage_v", (124,), "InBatV", 1.0),
    ("current_a", (802,), "A", -1.0),
    ("temperature_c", (701, 103, 102, 101), "TmpCab", 1.0),
    ("temperature_c", (701,), "TmpAmb", 1.0),
    ("max_charge_w", (802,), "WChaRteMax", 1.0),
    ("max_charge_w", (124,), "WChaMax", 1.0),
    ("max_discharge_w", (802,), "WDisChaRteMax", 1.0),
    ("max_discharge_w", (124,), "WChaMax", 1.0),
    ("frequency_hz", (701, 103, 102, 101), "Hz", 1.0),
    ("energy_charged_wh", (701,), "TotWhAbs", 1.0),
    ("energy_discharged_wh", (701,), "TotWhInj", 1.0),
    ("energy_discharged_wh", (103, 102, 101), "WH", 1.0),
    ("capacity_wh", (713,), "WHRtg", 1.0),
    ("capacity_wh", (802,), "WHRtg", 1.0),
    ("alarm_bits_701", (701,), "Alrm", 1.0),
    ("alarm_bits_802", (802,), "Evt1", 1.0),
]

_METER: list[tuple[str, str]] = [
    ("power_w", "W"),
    ("energy_wh", "TotWhImp"),
    ("energy_export_wh", "TotWhExp"),
    ("frequency_hz", "Hz"),
    ("voltage_v", "PhV"),
    ("current_a", "A"),
    *[(f"{ph}_power_w", f"Wph{x}") for ph, x in (("l1", "A"), ("l2", "B"), ("l3", "C"))],
    *[(f"{ph}_current_a", f"Aph{x}") for ph, x in (("l1", "A"), ("l2", "B"), ("l3", "C"))],
    *[(f"{ph}_voltage_v", f"PhVph{x}") for ph, x in (("l1", "A"), ("l2", "B"), ("l3", "C"))],
    *[(f"{ph}_energy_wh", f"TotWhImpPh{x}") for ph, x in (("l1", "A"), ("l2", "B"), ("l3", "C"))],
]

_METER_MODELS = (203, 204, 202, 201)
_IDENTITY = [("manufacturer", "Mn"), ("model", "Md"), ("firmware", "Vr"), ("serial", "SN")]


def point_signal(
    model: ModelLocation, point_name: str, name: str, unit_id: int, sign: float = 1.0
) -> Signal | None:
    """A signal for one point, or None when the device's L is too short to hold it."""
    table = MODELS[model.model_id]
    point = table.points[point_name]
    if point.offset + point.size > model.length + 2:
        return None
    sf_address = None
    if point.sf is not None:
        sf_point = table.points[point.sf]
        if sf_point.offset + 1 > model.length + 2:
            sf_address = None  # an older revision without the scale factor: raw value
        else:
            sf_address = model.address + sf_point.offset
    # Accumulators: 0 is SunSpec's "not implemented"; some revisions (701 as uint64) use
    # all ones instead, which must not read as 1.8e19 Wh.
    invalid = (2 ** (16 * point.size) - 1,) if point.reg_type.startswith("acc") else ()
    return Signal(
        name=name,
        address=model.address + point.offset,
        invalid=invalid,
        reg_type=point.reg_type,
        unit_id=unit_id,
        size=point.size if point.reg_type == "string" else 0,
        sf_address=sf_address,
        sign=sign,
        unit=point.units,
    )


def build_sunspec_profile(
    sunspec: SunSpecMap,
    kind: Literal["storage", "meter"],
    unit_id: int,
    *,
    invert_power: bool = False,
) -> DeviceProfile:
    """Raises ValueError when the device lacks the models its kind needs."""
    signals: list[Signal] = []
    flip = -1.0 if invert_power else 1.0

    def add(name: str, models: tuple[int, ...], point: str, sign: float) -> None:
        model = sunspec.first(*models)
        if model is not None and model.model_id in MODELS:
            signal = point_signal(model, point, name, unit_id, sign)
            if signal is not None:
                signals.append(signal)

    control: Control | None = None
    if kind == "storage":
        for name, models, point, sign in _STORAGE:
            add(name, models, point, sign * (flip if name == "power_w" else 1.0))
        if not any(s.name == "power_w" for s in signals):
            raise ValueError(f"no power measurement among models {sunspec.model_ids}")
        m704, m124 = sunspec.first(704), sunspec.first(124)
        # 704 drafts differ in layout (e.g. an int32 WSetPct moves every later point); write
        # only to the layout whose length we know, never guess at another one.
        if m704 is not None and m704.length == MODELS[704].length:
            control = Model704Control(m704, unit_id)
        elif m124 is not None and m124.length >= MODELS[124].length:
            control = Model124Control(m124, unit_id)
    else:
        if sunspec.first(*_METER_MODELS) is None:
            raise ValueError(f"no meter model (201-204) among models {sunspec.model_ids}")
        for name, point in _METER:
            add(name, _METER_MODELS, point, flip if name.endswith("power_w") else 1.0)
    identity: list[Signal] = []
    common = sunspec.first(1)
    if common is not None:
        for name, point in _IDENTITY:
            signal = point_signal(common, point, name, unit_id)
            if signal is not None:
                identity.append(signal)
    used = sorted({m for m in sunspec.model_ids if m in MODELS})
    return DeviceProfile(
        kind=kind,
        source="sunspec " + "/".join(str(m) for m in used),
        signals=tuple(signals),
        identity=tuple(identity),
        control=control,
        max_gap=16,
    )
