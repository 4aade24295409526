"""ChargerSession energy and unit-label sanity (transactions are money: get the Wh right).

`energy_wh` of a transaction is the meter now minus the meter at start (interfaces.md). Some
chargers label kWh readings `Wh` or the reverse. A reading is corrected only when, taken as
labelled, it is physically impossible against the previous reading of the same register (the
register went backwards, or gained more than the charger's maximum power could deliver in
the time between), and the reading a thousand times larger or smaller is possible. A reading
that is merely unusual (a new meter at 12 Wh, a per-session register) is never touched:
a wrong correction would bill a session as nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.foundation.model.fast_init import fast_init

__all__ = ["EnergyReference", "correct_energy_scale", "correct_power_scale", "session_energy_wh"]

_BACKWARD_SLACK_WH = 1.0
"""Rounding between two readings of one register (some chargers send whole kWh)."""
_GAIN_SLACK_WH = 1000.0
"""Allowed on top of max power x elapsed time: clocks, rounding, coarse registers."""
_POWER_SLACK = 1.5
"""Allowed over the configured maximum power (phase imbalance, a conservative config)."""


@fast_init
@dataclass(frozen=True, slots=True)
class EnergyReference:
    """A previous reading of the register, with when it was taken on both clocks we have."""

    energy_wh: float
    received_s: float
    """Gateway time when the reading arrived."""
    sampled_s: float | None = None
    """The charger's timestamp of the reading, when plausible."""

    def elapsed_s(self, received_s: float, sampled_s: float | None) -> float:
        """Time since this reading, the longer of the two clocks' views (generous on purpose:
        queued offline readings arrive together, simulators run their clocks fast)."""
        elapsed = received_s - self.received_s
        if sampled_s is not None and self.sampled_s is not None:
            elapsed = max(elapsed, sampled_s - self.sampled_s)
        return max(0.0, elapsed)


def correct_energy_scale(
    value_wh: float,
    reference: EnergyReference | None,
    *,
    received_s: float,
    sampled_s: float | None = None,
    max_power_w: float,
    labelled: bool = True,
) -> float:
    """Undo a kWh/Wh mislabel that physics proves; otherwise the reading as sent.

    `labelled=False` is for fields that are Wh by definition (1.6 meterStart/meterStop): the
    only quirk there is a charger putting kWh in them, so only x1000 is considered.
    """
    if reference is None or value_wh <= 0 or reference.energy_wh <= 0:
        return value_wh
    hours = reference.elapsed_s(received_s, sampled_s) / 3600.0
    most_gain = max_power_w * _POWER_SLACK * hours + _GAIN_SLACK_WH
    last = reference.energy_wh
    # As labelled first, then kWh sent as Wh, then Wh sent as kWh.
    candidates = (
        (value_wh, value_wh * 1000.0, value_wh / 1000.0)
        if labelled
        else (value_wh, value_wh * 1000.0)
    )
    for candidate in candidates:
        if -_BACKWARD_SLACK_WH <= candidate - last <= most_gain:
            return candidate
    return value_wh  # impossible either way (a replaced meter?): as sent, never guessed


def correct_power_scale(power_w: float, max_power_w: float) -> float:
    """A power far beyond the charger's rating but plausible divided by 1000 was W-as-kW."""
    if abs(power_w) > 20 * max_power_w and abs(power_w) / 1000.0 <= 1.5 * max_power_w:
        return power_w / 1000.0
    return power_w


def session_energy_wh(meter_start_wh: float | None, meter_now_wh: float | None) -> float | None:
    """Meter now minus meter at start; None when either is unknown or the meter went back."""
    if meter_start_wh is None or meter_now_wh is None:
        return None
    energy = meter_now_wh - meter_start_wh
    return round(energy, 3) if energy >= 0 else None
