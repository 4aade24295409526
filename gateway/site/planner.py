"""Keep the site's grid import under its limit: a pure, incremental planner.

Each tick the controller measures the grid (load convention: positive = import) and asks the
planner what to change. Over the limit, auto-mode batteries discharge first (no EV is slowed
while stored energy can cover the peak), then chargers are curtailed to an equal share. With
headroom, curtailed chargers get power back first, then discharging batteries ease off, and
only then do batteries recharge from what is left. Changes smaller than the hysteresis are
not sent, so chargers are not flooded with profiles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["ChargerInput", "SiteInputs", "SitePlan", "StorageInput", "plan"]

_ACTIVE_W = 100.0
"""A charger drawing less than this is not charging (idle, full EV, or paused at 0)."""


@dataclass(frozen=True, slots=True)
class ChargerInput:
    charger_id: str
    power_w: float
    max_power_w: float
    limit_w: float | None
    """The limit the controller set last (None: unlimited)."""


@dataclass(frozen=True, slots=True)
class StorageInput:
    device_id: str
    power_w: float
    setpoint_w: float
    """The setpoint the controller set last (0 when none)."""
    max_charge_w: float
    max_discharge_w: float
    soc_pct: float | None
    soc_min_pct: float
    soc_max_pct: float


@dataclass(frozen=True, slots=True)
class SiteInputs:
    grid_power_w: float
    import_limit_w: float
    export_limit_w: float | None = None
    margin_w: float = 1000.0
    hysteresis_w: float = 300.0
    chargers: tuple[ChargerInput, ...] = ()
    storage: tuple[StorageInput, ...] = ()


@dataclass(frozen=True, slots=True)
class SitePlan:
    charger_limits_w: Mapping[str, float | None] = field(default_factory=dict)
    """Chargers whose limit changes: W, or None to lift it."""
    storage_setpoints_w: Mapping[str, float] = field(default_factory=dict)
    """Auto-mode batteries whose setpoint changes (load convention)."""

    @property
    def empty(self) -> bool:
        return not self.charger_limits_w and not self.storage_setpoints_w


def plan(inputs: SiteInputs) -> SitePlan:
    target = inputs.import_limit_w - inputs.margin_w
    error = target - inputs.grid_power_w  # > 0: headroom, < 0: over the limit
    if inputs.export_limit_w is not None and inputs.grid_power_w < -inputs.export_limit_w:
        error = -inputs.export_limit_w - inputs.grid_power_w  # > 0: absorb the surplus
        return SitePlan(storage_setpoints_w=_shift_storage(inputs, error))
    if abs(error) < inputs.hysteresis_w:
        return SitePlan()
    if error < 0:
        return _shed(inputs, -error)
    return _restore(inputs, error)


def _shed(inputs: SiteInputs, excess_w: float) -> SitePlan:
    setpoints = _shift_storage(inputs, -excess_w)
    covered = sum(inputs_sp - sp for sp, inputs_sp in _changes(inputs, setpoints))
    remaining = excess_w - covered
    limits: dict[str, float | None] = {}
    active = [c for c in inputs.chargers if c.power_w >= _ACTIVE_W]
    if remaining >= inputs.hysteresis_w and active:
        budget = max(0.0, sum(c.power_w for c in active) - remaining)
        limits = _share(active, budget, inputs.hysteresis_w)
    return SitePlan(limits, setpoints)


def _restore(inputs: SiteInputs, headroom_w: float) -> SitePlan:
    limited = [c for c in inputs.chargers if c.limit_w is not None]
    if limited:
        budget = sum(c.limit_w or 0.0 for c in limited) + headroom_w
        if budget >= sum(c.max_power_w for c in limited):
            return SitePlan(charger_limits_w={c.charger_id: None for c in limited})
        return SitePlan(charger_limits_w=_share(limited, budget, inputs.hysteresis_w))
    return SitePlan(storage_setpoints_w=_shift_storage(inputs, headroom_w))


def _shift_storage(inputs: SiteInputs, delta_w: float) -> dict[str, float]:
    """Move auto batteries' setpoints by delta (negative: discharge more), within limits."""
    changes: dict[str, float] = {}
    remaining = delta_w
    for battery in inputs.storage:
        if abs(remaining) < inputs.hysteresis_w:
            break
        low = -battery.max_discharge_w if _may_discharge(battery) else min(0.0, battery.setpoint_w)
        high = battery.max_charge_w if _may_charge(battery) else max(0.0, battery.setpoint_w)
        wanted = min(high, max(low, battery.setpoint_w + remaining))
        if abs(wanted - battery.setpoint_w) >= inputs.hysteresis_w:
            changes[battery.device_id] = round(wanted)
            remaining -= wanted - battery.setpoint_w
    return changes


def _changes(inputs: SiteInputs, setpoints: Mapping[str, float]) -> list[tuple[float, float]]:
    return [
        (setpoints[b.device_id], b.setpoint_w) for b in inputs.storage if b.device_id in setpoints
    ]


def _may_discharge(battery: StorageInput) -> bool:
    return battery.soc_pct is None or battery.soc_pct > battery.soc_min_pct


def _may_charge(battery: StorageInput) -> bool:
    return battery.soc_pct is None or battery.soc_pct < battery.soc_max_pct


def _share(
    chargers: list[ChargerInput], budget_w: float, hysteresis_w: float
) -> dict[str, float | None]:
    """Split a budget equally, giving what a charger cannot use (its maximum) to the others."""
    limits: dict[str, float | None] = {}
    remaining, left = budget_w, sorted(chargers, key=lambda c: c.max_power_w)
    while left:
        charger = left.pop(0)
        share = min(charger.max_power_w, remaining / (len(left) + 1))
        remaining -= share
        current = charger.limit_w if charger.limit_w is not None else charger.max_power_w
        if abs(share - current) >= hysteresis_w or charger.limit_w is None:
            limits[charger.charger_id] = round(share)
    return limits
