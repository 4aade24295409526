"""How much the site could add to or shed from its grid import now, and for how long.

Published every interval on `P/site/flexibility`, for a control centre that offers the site's
flexibility to the grid. Parts: each auto-mode battery (from its setpoint to its discharge or
charge limit, for as long as its stored energy above `soc_min_pct` or its free capacity below
`soc_max_pct` lasts at that limit; the capacity is `capacity_wh` from the config, else the
rating the device reports less its state of health), each EV that may discharge (V2G; for as
long as the energy it reported above the bottom of its V2X range lasts at full discharge),
and curtailable charging (every charger paused; not bounded by stored energy). What may be
added is capped by the import limit.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.foundation.model import FlexibilityPart, SiteFlexibility
from gateway.site.inputs import ChargerInput, SiteInputs, StorageInput
from gateway.site.planner import demand_w, is_active

__all__ = ["flexibility"]

_LEAST_W = 1.0
"""Less power than this holds nothing: no duration is worked out for it."""


def flexibility(inputs: SiteInputs, setpoints_w: Mapping[str, float]) -> SiteFlexibility:
    parts = [_battery(s, setpoints_w.get(s.device_id, s.setpoint_w)) for s in inputs.storage]
    active = [c for c in inputs.chargers if is_active(c)]
    for c in active:
        if c.v2g_w > 0:
            lasts = None
            if c.v2g_energy_wh is not None and c.v2g_w >= _LEAST_W:
                lasts = round(c.v2g_energy_wh / c.v2g_w * 3600)
            parts.append(
                FlexibilityPart("v2g", c.charger_id, c.power_w + c.v2g_w, 0.0, lasts, None)
            )
    curtailable = [c for c in active if c.v2g_w <= 0]
    if curtailable:
        shed = sum(max(0.0, c.power_w) for c in curtailable)
        add = sum(max(0.0, _room_w(c, inputs.hysteresis_w)) for c in curtailable)
        parts.append(FlexibilityPart("charging", None, round(shed), round(add), None, None))
    shed_w = sum(p.shed_w for p in parts)
    add_w = sum(p.add_w for p in parts)
    if inputs.import_limit_w is not None and inputs.grid_power_w is not None:
        add_w = min(add_w, max(0.0, inputs.import_limit_w - inputs.grid_power_w))
    return SiteFlexibility(
        inputs.grid_power_w,
        round(shed_w),
        round(add_w),
        _shortest([p.shed_for_s for p in parts if p.shed_w > 0]),
        _shortest([p.add_for_s for p in parts if p.add_w > 0]),
        tuple(parts),
    )


def _room_w(c: ChargerInput, hysteresis_w: float) -> float:
    """What a curtailed charger would take on top of what it draws."""
    if c.share_w is None:
        return 0.0
    return min(demand_w(c, hysteresis_w), c.max_power_w) - c.power_w


def _battery(s: StorageInput, setpoint_w: float) -> FlexibilityPart:
    shed = max(0.0, setpoint_w - s.low_w)
    add = max(0.0, s.high_w - setpoint_w)
    shed_for = add_for = None
    if s.capacity_wh is not None and s.soc_pct is not None:
        stored_wh = max(0.0, s.soc_pct - s.soc_min_pct) / 100 * s.capacity_wh
        free_wh = max(0.0, s.soc_max_pct - s.soc_pct) / 100 * s.capacity_wh
        if s.low_w <= -_LEAST_W:
            shed_for = round(stored_wh / -s.low_w * 3600)
        if s.high_w >= _LEAST_W:
            add_for = round(free_wh / s.high_w * 3600)
    return FlexibilityPart("storage", s.device_id, round(shed), round(add), shed_for, add_for)


def _shortest(values: list[float | None]) -> float | None:
    bounded = [v for v in values if v is not None]
    return min(bounded) if bounded else None
