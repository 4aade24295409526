"""What the site planner sees each tick (plain values) and what it decides.

Power follows the load convention (positive: into the device, grid import); currents are per
grid phase. A charger's `phases` are the grid phases it draws from, after its rotation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "GRID_PHASES",
    "ChargerInput",
    "Decision",
    "SiteInputs",
    "SitePlan",
    "StorageInput",
]

GRID_PHASES: tuple[str, ...] = ("L1", "L2", "L3")

_INF = float("inf")


@dataclass(frozen=True, slots=True)
class ChargerInput:
    charger_id: str
    power_w: float
    """Measured (negative: an EV discharging, V2G)."""
    max_power_w: float
    """The most it may draw: its rating, or the control centre's cap when that is lower."""
    share_w: float | None
    """The controller's share in force (None: none; 0: paused by the controller)."""
    phases: tuple[str, ...] = GRID_PHASES
    voltage_v: float = 230.0
    min_current_a: float = 6.0
    priority: int = 0
    """Higher is served first."""
    plugged: bool = False
    """A session is open (an EV is there, charging or waiting)."""
    since_change_s: float = _INF
    """Seconds since the controller last changed its share (rate limit)."""
    since_turn_s: float = _INF
    """Seconds since it was last paused or resumed (paused chargers take turns)."""
    v2g_w: float = 0.0
    """Discharge power the EV may give now (V2G allowed, SoC above the floor); 0: none."""
    v2g_energy_wh: float | None = None
    """Energy the EV may give before the bottom of its V2X range, as it last reported it
    (ISO 15118 / OCPP 2.1 charging needs); None: not known."""
    watts_per_amp: float = field(init=False, repr=False, compare=False)
    """Worked out once: the planner asks it dozens of times per charger and tick."""
    min_power_w: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        watts_per_amp = self.voltage_v * len(self.phases)
        object.__setattr__(self, "watts_per_amp", watts_per_amp)
        object.__setattr__(
            self, "min_power_w", min(self.max_power_w, self.min_current_a * watts_per_amp)
        )

    def current_a(self, power_w: float) -> float:
        """Current on each of its grid phases when drawing `power_w`."""
        return power_w / self.watts_per_amp


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
    capacity_wh: float | None = None
    voltage_v: float = 230.0
    """Phase voltage: a battery inverter is taken as three-phase and balanced."""

    @property
    def may_discharge(self) -> bool:
        return self.soc_pct is None or self.soc_pct > self.soc_min_pct

    @property
    def may_charge(self) -> bool:
        return self.soc_pct is None or self.soc_pct < self.soc_max_pct

    @property
    def low_w(self) -> float:
        return -self.max_discharge_w if self.may_discharge else 0.0

    @property
    def high_w(self) -> float:
        return self.max_charge_w if self.may_charge else 0.0


@dataclass(frozen=True, slots=True)
class SiteInputs:
    grid_power_w: float | None
    """None: the grid reading is missing (meter lost): the fail-safe applies."""
    import_limit_w: float | None
    export_limit_w: float | None = None
    target_w: float | None = None
    """Import the control centre asks for (negative: export); kept within every limit."""
    grid_current_a: Mapping[str, float] | None = None
    """Measured current per grid phase (L1..L3), import positive."""
    import_limit_a: float | None = None
    """Per-phase fuse current."""
    margin_w: float = 1000.0
    margin_a: float = 1.5
    hysteresis_w: float = 300.0
    min_change_interval_s: float = 10.0
    """A share is raised at most this often per charger (lowering is never delayed)."""
    turn_s: float = 300.0
    """Paused chargers take over from running ones (same priority) after this long."""
    failsafe_charger_power_w: float | None = None
    """Total charging while the grid reading is missing; None: each charger at its minimum."""
    chargers: tuple[ChargerInput, ...] = ()
    storage: tuple[StorageInput, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """One change and why (logged, and shown in site telemetry)."""

    device_id: str
    value_w: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class SitePlan:
    charger_limits_w: Mapping[str, float | None] = field(default_factory=dict)
    """Chargers whose share changes: W, 0 to pause, None to lift it."""
    storage_setpoints_w: Mapping[str, float] = field(default_factory=dict)
    """Auto-mode batteries whose setpoint changes (load convention)."""
    target_w: float | None = None
    """The import the plan aims at (the limit less the margin, or the power target)."""
    reasons: tuple[Decision, ...] = ()
    failsafe: bool = False

    @property
    def empty(self) -> bool:
        return not self.charger_limits_w and not self.storage_setpoints_w
