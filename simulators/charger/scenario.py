"""Scenarios: who plugs in when, with which tag and EV, for how long; faults on cue.

A YAML file (or `--session k=v,...` on the command line) becomes frozen plans; unknown keys
are errors so a typo does not silently change a test. Times are simulated seconds after the
charge point started.

    sessions:
      - {charger: CP-1, at_s: 5, evse: 1, id_tag: 04A2B3C4, until_soc_pct: 80,
         ev: {capacity_kwh: 60, initial_soc_pct: 20, max_charge_w: 11000}}
      - {charger: "*", at_s: 60, duration_s: 1800}
    faults:
      - {charger: CP-2, at_s: 120, fault: disconnect, offline_s: 10}
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from simulators.charger.ev import EvSpec
from simulators.charger.simclock import TimestampStyle
from simulators.charger.station import ChargerSim

__all__ = [
    "FAULTS",
    "FaultPlan",
    "Scenario",
    "SessionPlan",
    "auto_sessions",
    "load_scenario",
    "parse_scenario",
    "parse_session_spec",
    "run_scenario",
]

FAULTS = frozenset(
    {
        "disconnect",
        "silence",
        "unsilence",
        "invalid_json",
        "wrong_message_type",
        "wrong_payload_types",
        "numeric_meter_values",
        "tx_id_zero",
        "timestamps",
    }
)
_EV_KEYS = {f.name for f in fields(EvSpec)}


@dataclass(frozen=True)
class SessionPlan:
    charger: str = "*"
    at_s: float = 0.0
    evse: int = 1
    id_tag: str = "SIMTAG"
    duration_s: float | None = None
    until_soc_pct: float | None = None
    ev: EvSpec = field(default_factory=EvSpec)


@dataclass(frozen=True)
class FaultPlan:
    fault: str
    charger: str = "*"
    at_s: float = 0.0
    offline_s: float = 0.0  # disconnect
    style: str = "local"  # timestamps
    evse: int = 1  # numeric_meter_values


@dataclass(frozen=True)
class Scenario:
    sessions: tuple[SessionPlan, ...] = ()
    faults: tuple[FaultPlan, ...] = ()


def _check_keys(where: str, raw: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _session(where: str, raw: Mapping[str, Any], ev_defaults: Mapping[str, Any]) -> SessionPlan:
    allowed = {f.name for f in fields(SessionPlan)}
    _check_keys(where, raw, allowed)
    ev_raw = {**ev_defaults, **(raw.get("ev") or {})}
    _check_keys(f"{where}.ev", ev_raw, _EV_KEYS)
    values = {k: v for k, v in raw.items() if k != "ev"}
    try:
        plan = SessionPlan(**values, ev=EvSpec(**ev_raw))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    if plan.duration_s is not None and plan.until_soc_pct is not None:
        raise ValueError(f"{where}: give duration_s or until_soc_pct, not both")
    return plan


def _fault(where: str, raw: Mapping[str, Any]) -> FaultPlan:
    _check_keys(where, raw, {f.name for f in fields(FaultPlan)})
    if raw.get("fault") not in FAULTS:
        raise ValueError(f"{where}.fault: one of {', '.join(sorted(FAULTS))}")
    plan = FaultPlan(**raw)
    if plan.fault == "timestamps":
        TimestampStyle(plan.style)
    return plan


def parse_scenario(data: Any) -> Scenario:
    """A scenario from already-loaded YAML; ValueError names the offending key path."""
    if data is None:
        return Scenario()
    if not isinstance(data, Mapping):
        raise ValueError("scenario: expected a mapping with sessions / faults")
    _check_keys("scenario", data, {"sessions", "faults", "ev"})
    ev_defaults = data.get("ev") or {}
    _check_keys("ev", ev_defaults, _EV_KEYS)
    sessions = tuple(
        _session(f"sessions[{i}]", raw, ev_defaults)
        for i, raw in enumerate(data.get("sessions") or [])
    )
    faults = tuple(_fault(f"faults[{i}]", raw) for i, raw in enumerate(data.get("faults") or []))
    return Scenario(sessions, faults)


def load_scenario(path: str | Path) -> Scenario:
    return parse_scenario(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def parse_session_spec(text: str) -> SessionPlan:
    """`charger=CP-1,at_s=5,id_tag=X,until_soc_pct=80,capacity_kwh=60` → a SessionPlan."""
    raw: dict[str, Any] = {}
    ev: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--session: expected key=value, got {item!r}")
        key = key.strip()
        parsed: Any = value if key in ("charger", "id_tag") else yaml.safe_load(value)
        if key in _EV_KEYS:
            ev[key] = parsed
        else:
            raw[key] = parsed
    if ev:
        raw["ev"] = ev
    return _session("--session", raw, {})


async def _run_session(sim: ChargerSim, plan: SessionPlan) -> None:
    await sim.clock.sleep(plan.at_s - sim.clock.elapsed())
    await sim.wait_booted(timeout_s=3600)
    await sim.plug_in(
        plan.evse,
        ev=plan.ev,
        id_tag=plan.id_tag,
        until_soc_pct=plan.until_soc_pct,
        duration_s=plan.duration_s,
    )


async def apply_fault(sim: ChargerSim, plan: FaultPlan) -> None:
    inject = sim.inject
    if plan.fault == "disconnect":
        await inject.disconnect(offline_s=plan.offline_s)
    elif plan.fault in ("silence", "unsilence"):
        inject.silence(plan.fault == "silence")
    elif plan.fault == "tx_id_zero":
        inject.use_tx_id_zero(True)
    elif plan.fault == "timestamps":
        inject.timestamps(plan.style)
    elif plan.fault == "invalid_json":
        await inject.send_invalid_json()
    elif plan.fault == "wrong_message_type":
        await inject.send_wrong_message_type()
    elif plan.fault == "wrong_payload_types":
        await inject.send_wrong_payload_types()
    elif plan.fault == "numeric_meter_values":
        await inject.send_numeric_meter_values(plan.evse)


async def _run_fault(sim: ChargerSim, plan: FaultPlan) -> None:
    await sim.clock.sleep(plan.at_s - sim.clock.elapsed())
    sim.log.info("scenario_fault", fault=plan.fault)
    await apply_fault(sim, plan)


async def run_scenario(scenario: Scenario, sims: Sequence[ChargerSim]) -> None:
    """Play every plan against the matching sims; returns when all have been played."""
    jobs = []
    for sim in sims:
        cid = sim.config.charger_id
        jobs += [_run_session(sim, p) for p in scenario.sessions if p.charger in ("*", cid)]
        jobs += [_run_fault(sim, p) for p in scenario.faults if p.charger in ("*", cid)]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            raise result


async def auto_sessions(sim: ChargerSim, rng: random.Random, mean_idle_s: float = 600.0) -> None:
    """Random arrivals for demos: on every EVSE an EV comes, charges to a random SoC, leaves,
    and the next one comes after an exponentially distributed idle time."""
    await sim.wait_booted(timeout_s=3600)
    await asyncio.gather(*(_auto_evse(sim, evse, rng, mean_idle_s) for evse in sim.evses))


async def _auto_evse(sim: ChargerSim, evse: int, rng: random.Random, mean_idle_s: float) -> None:
    await sim.clock.sleep(rng.uniform(0, min(mean_idle_s, 60.0)))
    while True:
        if not sim.evses[evse].plugged:
            ev = EvSpec(
                capacity_kwh=rng.choice([40.0, 58.0, 77.0, 100.0]),
                initial_soc_pct=rng.uniform(10, 60),
                max_charge_w=rng.choice([7_400.0, 11_000.0, 22_000.0]),
            )
            tag = f"{rng.getrandbits(56):014X}"
            session = await sim.plug_in(evse, ev=ev, id_tag=tag, until_soc_pct=rng.uniform(70, 100))
            if session is None:  # refused: the driver leaves
                await sim.unplug(evse)
        while sim.evses[evse].plugged:
            await sim.clock.sleep(sim.meter_interval_s)
        await sim.clock.sleep(rng.expovariate(1.0 / mean_idle_s))
