"""Register-map files: the shipped maps validate, bad maps are reported with their paths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from drivers.modbus.map_profile import build_map_profile
from drivers.modbus.register_map import RegisterMapError, load_register_map, parse_register_map
from drivers.registry import check_config as check_driver_config
from gateway.config import ConfigError, parse_config
from gateway.foundation.register_maps import REGISTER_MAP_DIRS

SHIPPED = sorted(REGISTER_MAP_DIRS[-1].glob("*.yaml"))

GOOD = """
name: Test battery
kind: storage
source: Test datasheet v1
points:
  power_w: {address: 10, type: int32, unit: W, sign: generator, datasheet: "p. 3 row 1"}
  soc_pct: {address: 12, type: uint16, scale: 0.1, unit: "%", datasheet: "p. 3 row 2"}
  setpoint_w: {address: 20, type: int32, unit: W, sign: generator, access: RW, datasheet: "p. 4"}
control:
  setpoint: setpoint_w
"""


def test_at_least_two_real_maps_ship_and_validate() -> None:
    assert len(SHIPPED) >= 2
    for path in SHIPPED:
        spec = load_register_map(path)
        assert spec.kind == "storage" and spec.control is not None
        assert len(spec.source) > 20  # names the vendor document
        assert all(p.datasheet for p in spec.points.values())
        profile = build_map_profile(spec, 1, source=path.name)
        assert profile.poll_blocks()


def test_generator_convention_is_converted_both_ways() -> None:
    spec = parse_register_map(GOOD)
    profile = build_map_profile(spec, 1, source="t")
    power = next(s for s in profile.signals if s.name == "power_w")
    assert power.sign == -1.0
    assert profile.control is not None
    plan = profile.control.plan_setpoint(5000, revert_s=60, fallback_w=0, image={})
    assert plan.writes[-1].registers == (0xFFFF, 0xEC78)  # -5000: the device's convention


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("type: int32, unit: W, sign: generator, datasheet", "type: int33, unit: W, datasheet"),
         "points.power_w.type"),
        (('unit: "%"', "unit: V"), "points.soc_pct.unit: soc_pct is in %"),
        (("address: 12", "address: 70000"), "points.soc_pct.address"),
        (("scale: 0.1", "scale: 0"), "points.soc_pct.scale"),
        (('datasheet: "p. 3 row 2"', "dtsheet: x"), "points.soc_pct.datasheet"),
        (("setpoint: setpoint_w", "setpoint: nowhere"), "control.setpoint: no point named 'nowhere'"),
        ((", access: RW", ""), "control.setpoint: point 'setpoint_w' is not writable"),
        (("soc_pct:", "soc_percent:"), "points.soc_percent: not a storage capability"),
        (("kind: storage", "kind: inverter"), "kind"),
    ],
)  # fmt: skip
def test_bad_maps_name_the_path(change: tuple[str, str], problem: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(RegisterMapError) as err:
        parse_register_map(text, "bad.yaml")
    assert any(problem in p for p in err.value.problems), err.value.problems


def test_check_config_reports_map_content(
    tmp_path: Path, make_config: Callable[..., object]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace('unit: "%"', "unit: V"))
    text = f"""
site: {{id: s}}
modbus:
  devices:
    - {{id: ok, kind: storage, host: 127.0.0.1, profile: victron-gx-ess}}
    - {{id: b1, kind: storage, host: 127.0.0.1, profile: {bad}}}
    - {{id: m1, kind: meter, host: 127.0.0.1, profile: huawei-luna2000}}
"""
    with pytest.raises(ConfigError) as err:
        parse_config(text, checks=(check_driver_config,))
    problems = [str(p) for p in err.value.problems]
    assert any(
        p.startswith("modbus.devices[1].profile: bad.yaml: points.soc_pct.unit") for p in problems
    )
    assert any(p.startswith("modbus.devices[2].profile:") and "storage" in p for p in problems)
    assert not any(p.startswith("modbus.devices[0]") for p in problems)
