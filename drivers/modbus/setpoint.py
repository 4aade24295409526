"""Clamp a requested battery power to what is allowed right now. Pure: no I/O.

Three bounds apply, tightest first wins: the configured limits (they bind even if the
device allows more), the device's own rated limits, and the SoC window (no discharge at or
below `soc_min_pct`, no charge at or above `soc_max_pct`). Power is in load convention:
positive charges, negative discharges.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ClampResult", "PowerLimits", "clamp_power_w"]


@dataclass(frozen=True, slots=True)
class PowerLimits:
    max_charge_w: float | None = None
    max_discharge_w: float | None = None
    """Magnitude (≥ 0) of the largest discharge allowed."""
    soc_min_pct: float = 0.0
    soc_max_pct: float = 100.0

    def tighten(self, max_charge_w: float | None, max_discharge_w: float | None) -> PowerLimits:
        """Combine with another source of limits (e.g. the device's ratings)."""
        return PowerLimits(
            _min(self.max_charge_w, max_charge_w),
            _min(self.max_discharge_w, max_discharge_w),
            self.soc_min_pct,
            self.soc_max_pct,
        )


def _min(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


@dataclass(frozen=True, slots=True)
class ClampResult:
    requested_w: float
    applied_w: float
    reasons: tuple[str, ...] = ()

    @property
    def clamped(self) -> bool:
        return self.applied_w != self.requested_w

    @property
    def reason(self) -> str | None:
        return "; ".join(self.reasons) if self.reasons else None


def clamp_power_w(power_w: float, limits: PowerLimits, soc_pct: float | None) -> ClampResult:
    applied = power_w
    reasons: list[str] = []
    if applied > 0 and limits.max_charge_w is not None and applied > limits.max_charge_w:
        applied = limits.max_charge_w
        reasons.append(f"charge limited to max_charge_w {limits.max_charge_w:g} W")
    if applied < 0 and limits.max_discharge_w is not None and -applied > limits.max_discharge_w:
        applied = -limits.max_discharge_w
        reasons.append(f"discharge limited to max_discharge_w {limits.max_discharge_w:g} W")
    if soc_pct is not None:
        if applied > 0 and soc_pct >= limits.soc_max_pct:
            applied = 0.0
            reasons.append(f"soc {soc_pct:g} % at or above soc_max_pct {limits.soc_max_pct:g} %")
        if applied < 0 and soc_pct <= limits.soc_min_pct:
            applied = 0.0
            reasons.append(f"soc {soc_pct:g} % at or below soc_min_pct {limits.soc_min_pct:g} %")
    return ClampResult(power_w, applied + 0.0, tuple(reasons))
