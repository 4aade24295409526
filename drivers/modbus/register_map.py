"""Register-map files: vendor devices described as data (YAML under config/registers/).

A map names each value by its capability (`power_w`, `soc_pct`, ...), says where it is
(address, unit id, type, word order), how to scale it, which sign convention the device
uses, whether it may be written, and where the number comes from (`datasheet`). A
`control:` section says how a setpoint is written. Files are validated on load and every
problem comes back with its path (`points.power_w.type: ...`). See docs/modbus.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from drivers.modbus.registers import REGISTER_COUNT, RegType, WordOrder
from drivers.modbus.vocabulary import IDENTITY_FIELDS, METER_FIELDS, STORAGE_FIELDS, unit_of

__all__ = [
    "ControlSpec",
    "MapPoint",
    "RegisterMap",
    "RegisterMapError",
    "load_register_map",
    "parse_register_map",
]

Address = Annotated[int, Field(ge=0, le=0xFFFF)]
_UNIT_ALIASES = {"°C": {"°C", "C", "degC"}, "%": {"%", "pct"}}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MapPoint(_Strict):
    address: Address
    """0-based PDU address, as sent on the wire (a datasheet's "40001" style register 1 is 0)."""
    type: RegType
    size: Annotated[int, Field(ge=1, le=125)] | None = None
    """Registers; required for strings, else taken from the type."""
    unit_id: Annotated[int, Field(ge=0, le=255)] | None = None
    """Overrides the device's unit id (e.g. Victron GX: one unit id per service)."""
    word_order: WordOrder = "big"
    scale: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    """Multiplier from the raw value to the unit (0.1 for a register in tenths)."""
    unit: str = ""
    sign: Literal["load", "generator"] = "load"
    """generator: positive means power out of the device (discharging, export); negated on read and write."""
    access: Literal["R", "RW"] = "R"
    invalid: list[int] = []
    """Raw values meaning "not available" (e.g. 0x7FFF, 0xFFFF)."""
    sunspec_sentinels: bool = False
    """Also treat the SunSpec not-implemented values as "not available"."""
    readback: bool = True
    """False for command registers that do not read back what was written."""
    datasheet: Annotated[str, Field(min_length=3)]
    """Where this register is documented: document, version, table or page."""

    @model_validator(mode="after")
    def _size(self) -> MapPoint:
        if self.type == "string" and self.size is None:
            raise ValueError("a string point needs a size (registers)")
        if self.type != "string" and self.size not in (None, REGISTER_COUNT[self.type]):
            raise ValueError(f"a {self.type} point is {REGISTER_COUNT[self.type]} registers")
        return self

    @property
    def count(self) -> int:
        return self.size or REGISTER_COUNT[self.type]


class FixedWrite(_Strict):
    point: str
    value: float


class DirectionSpec(_Strict):
    point: str
    charge: int
    discharge: int
    stop: int


class RevertTimerSpec(_Strict):
    point: str
    unit: Literal["s", "min"] = "s"


class ControlSpec(_Strict):
    """How a setpoint is written: one signed point, or a direction plus magnitudes."""

    setpoint: str | None = None
    """A point holding the signed power (in its own sign convention)."""
    direction: DirectionSpec | None = None
    charge_power: str | None = None
    discharge_power: str | None = None
    before: list[FixedWrite] = []
    """Written before every setpoint (e.g. enable remote control)."""
    release: list[FixedWrite] = []
    """Written to hand control back to the device (mode `auto`)."""
    revert_timer: RevertTimerSpec | None = None
    """The device's own timeout for the setpoint, refreshed with every write."""

    @model_validator(mode="after")
    def _one_way(self) -> ControlSpec:
        split = (self.direction, self.charge_power, self.discharge_power)
        if self.setpoint is None and not all(x is not None for x in split):
            raise ValueError("give either setpoint, or direction + charge_power + discharge_power")
        if self.setpoint is not None and any(x is not None for x in split):
            raise ValueError(
                "setpoint and direction/charge_power/discharge_power exclude each other"
            )
        return self

    def referenced(self) -> list[tuple[str, str]]:
        """(path, point name) of every point this section writes."""
        refs: list[tuple[str, str]] = []
        for key in ("setpoint", "charge_power", "discharge_power"):
            name = getattr(self, key)
            if name is not None:
                refs.append((key, name))
        if self.direction is not None:
            refs.append(("direction.point", self.direction.point))
        if self.revert_timer is not None:
            refs.append(("revert_timer.point", self.revert_timer.point))
        refs += [(f"before[{i}].point", w.point) for i, w in enumerate(self.before)]
        refs += [(f"release[{i}].point", w.point) for i, w in enumerate(self.release)]
        return refs


class RegisterMap(_Strict):
    name: Annotated[str, Field(min_length=1)]
    kind: Literal["storage", "meter"]
    source: Annotated[str, Field(min_length=3)]
    """The vendor document (name, version) the map was written from."""
    notes: str = ""
    points: dict[str, MapPoint]
    control: ControlSpec | None = None

    @model_validator(mode="after")
    def _names(self) -> RegisterMap:
        known = set(STORAGE_FIELDS if self.kind == "storage" else METER_FIELDS)
        controlled = {name for _, name in self.control.referenced()} if self.control else set()
        problems: list[str] = []
        for name, point in self.points.items():
            telemetry = name in known or name in IDENTITY_FIELDS
            if not telemetry and name not in controlled:
                problems.append(
                    f"points.{name}: not a {self.kind} capability and not used by control"
                    f" (known: {', '.join(sorted(known))})"
                )
            expected = unit_of(name) if telemetry else None
            if expected and point.unit not in _UNIT_ALIASES.get(expected, {expected}):
                problems.append(f"points.{name}.unit: {name} is in {expected}, not {point.unit!r}")
            if name in IDENTITY_FIELDS and point.type != "string":
                problems.append(f"points.{name}.type: identity values are strings")
        if self.control is not None:
            if self.kind != "storage":
                problems.append("control: only storage devices take setpoints")
            for path, name in self.control.referenced():
                target = self.points.get(name)
                if target is None:
                    problems.append(f"control.{path}: no point named {name!r}")
                elif target.access != "RW":
                    problems.append(f"control.{path}: point {name!r} is not writable (access R)")
        if self.kind == "storage" and "power_w" not in self.points:
            problems.append("points.power_w: a storage map needs the battery power")
        if problems:
            raise ValueError("\n".join(problems))
        return self


class RegisterMapError(Exception):
    """The map cannot be used; `problems` are `path: message` lines."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_register_map(text: str, source: str = "<map>") -> RegisterMap:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegisterMapError(source, [f"not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise RegisterMapError(source, ["top level must be a mapping"])
    try:
        return RegisterMap.model_validate(raw)
    except ValidationError as exc:
        problems: list[str] = []
        for err in exc.errors():
            msg = str(err["msg"]).removeprefix("Value error, ")
            where = _path(tuple(err["loc"]))
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            if err["type"] == "value_error" and not where:
                problems.extend(msg.splitlines())
            else:
                problems.append(f"{where}: {msg}" if where else msg)
        raise RegisterMapError(source, problems) from None


def load_register_map(path: Path) -> RegisterMap:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegisterMapError(str(path), [f"cannot read: {exc.strerror}"]) from None
    return parse_register_map(text, str(path))
