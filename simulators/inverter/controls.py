"""Power-setpoint state machines of the storage controls, with their reversion timers.

Two control surfaces, one per profile, both pure (time is passed in):

* SunSpec model 704 (DER AC controls): WSetEna, WSetMod, WSet / WSetPct and the reversion
  timer WSetRvrtTms with its countdown WSetRvrtRem. WSet > 0 injects (discharges).
* SunSpec model 124 (basic storage controls): StorCtl_Mod, InWRte / OutWRte (percent of
  WChaMax) and the reversion timer InOutWRte_RvrtTms.

Each returns the requested AC power in PileBridge load convention (> 0 charges).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from .battery import Battery

__all__ = ["DerControls", "PowerControl", "RevertTimer", "StorageControls", "integrate"]

WSETMOD_PCT = 0  # model 704 WSetMod W_MAX_PCT
WSETMOD_WATTS = 1  # model 704 WSetMod WATTS
STORCTL_CHARGE = 0x1  # model 124 StorCtl_Mod bit 0
STORCTL_DISCHARGE = 0x2  # model 124 StorCtl_Mod bit 1


class PowerControl(Protocol):
    """What the battery integration needs from a control surface."""

    def requested_w(self) -> float: ...
    def next_event(self) -> float | None: ...
    def expire(self, now: float) -> bool: ...


def integrate(battery: Battery, control: PowerControl, t: float, now: float) -> list[float]:
    """Run the battery from ``t`` to ``now`` under ``control``, split at reversion deadlines.

    A reversion that falls inside the interval takes effect at its own time, not at the next
    request. Returns the times at which reversions fired.
    """
    fired: list[float] = []
    while t < now:
        event = control.next_event()
        t_next = now if event is None or event > now else max(event, t)
        battery.step(t_next - t, control.requested_w())
        t = t_next
        if control.expire(t):
            fired.append(t)
    if control.expire(now):
        fired.append(now)
    battery.step(0.0, control.requested_w())
    return fired


def _remaining(deadline: float | None, now: float) -> int:
    return 0 if deadline is None else max(math.ceil(deadline - now - 1e-9), 0)


class RevertTimer:
    """The reversion timer every control surface has: a deadline that fires once.

    A mixin: the control keeps `deadline` and `reverted` as its own fields and says in its
    `expire` what reverting means for it.
    """

    deadline: float | None
    reverted: int

    def next_event(self) -> float | None:
        return self.deadline

    def remaining_s(self, now: float) -> int:
        return _remaining(self.deadline, now)

    def _fire_if_due(self, now: float) -> bool:
        if self.deadline is None or now < self.deadline:
            return False
        self.deadline = None
        self.reverted += 1
        return True


@dataclass
class DerControls(RevertTimer):
    """SunSpec model 704 active-power setpoint with reversion (WSetRvrtTms).

    The timer runs while WSetEna = 1 and WSetRvrtTms > 0; every write of WSetEna, WSetMod,
    WSet, WSetPct or WSetRvrtTms restarts it. On expiry the setpoint reverts: with
    WSetEnaRvrt = 1 to WSetRvrt / WSetPctRvrt, otherwise WSetEna returns to 0 (idle, 0 W).
    """

    w_max_charge: float
    w_max_discharge: float
    ena: int = 0
    mod: int = WSETMOD_WATTS
    wset_w: float = 0.0
    wset_pct: float = 0.0
    rvrt_w: float = 0.0
    rvrt_pct: float = 0.0
    ena_rvrt: int = 0
    rvrt_tms: int = 0
    deadline: float | None = None
    reverted: int = 0  # how many times the timer fired

    _RESTART = frozenset({"WSetEna", "WSetMod", "WSet", "WSetPct", "WSetRvrtTms"})

    def write(self, name: str, value: float, now: float) -> None:
        """Apply one written point; raises ValueError for a value the device refuses."""
        if name == "WSetEna":
            self.ena = _enum(value, (0, 1), name)
        elif name == "WSetMod":
            self.mod = _enum(value, (WSETMOD_PCT, WSETMOD_WATTS), name)
        elif name == "WSet":
            self.wset_w = float(value)
        elif name == "WSetPct":
            self.wset_pct = _pct(value, name)
        elif name == "WSetRvrt":
            self.rvrt_w = float(value)
        elif name == "WSetPctRvrt":
            self.rvrt_pct = _pct(value, name)
        elif name == "WSetEnaRvrt":
            self.ena_rvrt = _enum(value, (0, 1), name)
        elif name == "WSetRvrtTms":
            if value < 0:
                raise ValueError("WSetRvrtTms must not be negative")
            self.rvrt_tms = int(value)
        else:
            raise KeyError(name)
        if name in self._RESTART:
            self.deadline = now + self.rvrt_tms if self.ena and self.rvrt_tms > 0 else None

    def expire(self, now: float) -> bool:
        """Fire the reversion if its deadline has passed; True when it did."""
        if not self._fire_if_due(now):
            return False
        if self.ena_rvrt:
            self.wset_w, self.wset_pct = self.rvrt_w, self.rvrt_pct
        else:
            self.ena = 0
        return True

    def requested_w(self) -> float:
        """Requested AC power, load convention (WSet is generator convention)."""
        if not self.ena:
            return 0.0
        if self.mod == WSETMOD_WATTS:
            inject = self.wset_w
        else:
            scale = self.w_max_discharge if self.wset_pct >= 0 else self.w_max_charge
            inject = self.wset_pct / 100.0 * scale
        return -inject


@dataclass
class StorageControls(RevertTimer):
    """SunSpec model 124 storage control: StorCtl_Mod, InWRte, OutWRte, InOutWRte_RvrtTms.

    CHARGE bit only: charge at InWRte % of WChaMax (a negative InWRte discharges);
    DISCHARGE bit only: discharge at OutWRte % (a negative OutWRte charges);
    both bits: the rates are a window [-InWRte, +OutWRte] and the battery holds the point
    in it nearest to 0 W; no bit: hold (0 W). On InOutWRte_RvrtTms expiry StorCtl_Mod
    returns to 0.
    """

    wcha_max: float
    storctl_mod: int = 0
    in_w_rte: float = 100.0
    out_w_rte: float = 100.0
    rvrt_tms: int = 0
    deadline: float | None = None
    reverted: int = 0

    _RESTART = frozenset({"StorCtl_Mod", "InWRte", "OutWRte", "InOutWRte_RvrtTms"})

    def write(self, name: str, value: float, now: float) -> None:
        if name == "StorCtl_Mod":
            if int(value) & ~0x3:
                raise ValueError("StorCtl_Mod: only bits 0 (charge) and 1 (discharge)")
            self.storctl_mod = int(value)
        elif name == "InWRte":
            self.in_w_rte = _pct(value, name)
        elif name == "OutWRte":
            self.out_w_rte = _pct(value, name)
        elif name == "InOutWRte_RvrtTms":
            self.rvrt_tms = int(value)
        elif name == "WChaMax":
            if value <= 0:
                raise ValueError("WChaMax must be positive")
            self.wcha_max = float(value)
        else:
            raise KeyError(name)
        if name in self._RESTART:
            active = self.storctl_mod and self.rvrt_tms > 0
            self.deadline = now + self.rvrt_tms if active else None

    def expire(self, now: float) -> bool:
        if not self._fire_if_due(now):
            return False
        self.storctl_mod = 0
        return True

    def requested_w(self) -> float:
        charge_w = self.in_w_rte / 100.0 * self.wcha_max
        discharge_w = self.out_w_rte / 100.0 * self.wcha_max
        mode = self.storctl_mod & 0x3
        if mode == STORCTL_CHARGE:
            return charge_w
        if mode == STORCTL_DISCHARGE:
            return -discharge_w
        if mode == STORCTL_CHARGE | STORCTL_DISCHARGE:
            # window in load convention: [-discharge_w, +charge_w]; hold the point nearest 0
            return min(max(0.0, -discharge_w), charge_w)
        return 0.0


def _enum(value: float, allowed: tuple[int, ...], name: str) -> int:
    if int(value) not in allowed:
        raise ValueError(f"{name}: {value} is not one of {allowed}")
    return int(value)


def _pct(value: float, name: str) -> float:
    if not -100.0 <= float(value) <= 100.0:
        raise ValueError(f"{name}: {value} outside -100..100 %")
    return float(value)
