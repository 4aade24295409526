"""Site-level records besides telemetry: events and the flexibility offer.

`SiteEvent` is something the site controller wants a control centre to know at once (the grid
meter lost or back); `SiteFlexibility` says, every interval, how much the site could add to or
shed from its grid import now and for how long.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.foundation.model.fast_init import fast_init

__all__ = ["FlexibilityPart", "SiteEvent", "SiteFlexibility"]


@fast_init
@dataclass(frozen=True, slots=True)
class SiteEvent:
    event: str
    """`grid_meter_lost`, `grid_meter_back`, `power_target_set`, `power_target_ended`."""
    data: Mapping[str, Any] = field(default_factory=dict)


@fast_init
@dataclass(frozen=True, slots=True)
class FlexibilityPart:
    kind: str
    """`storage` (an auto-mode battery), `v2g` (an EV that may discharge) or `charging`
    (curtailable charging, all chargers together)."""
    device_id: str | None
    shed_w: float
    """Import it could take off the grid now (discharge more, or charge less)."""
    add_w: float
    """Import it could add now (charge more, or discharge less)."""
    shed_for_s: float | None
    """How long it could hold `shed_w` (None: not bounded by stored energy)."""
    add_for_s: float | None


@fast_init
@dataclass(frozen=True, slots=True)
class SiteFlexibility:
    import_w: float | None
    shed_w: float
    add_w: float
    """Limited by the import limit in force (the site never offers to pass it)."""
    shed_for_s: float | None
    """How long the whole `shed_w` could be held (the shortest part that is bounded)."""
    add_for_s: float | None
    parts: tuple[FlexibilityPart, ...] = ()
