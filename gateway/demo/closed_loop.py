"""A closed-loop site for end-to-end tests and bench/site_control.py: the gateway with simulated
chargers (OCPP over websockets, EVs that obey profiles), a battery inverter and a grid meter
(Modbus TCP) whose reading is base load + chargers + battery, per phase.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.app import Gateway
from gateway.demo.broker import free_port
from gateway.foundation.config import Config
from gateway.foundation.model import (
    CommandRequest,
    CommandResult,
    CommandSource,
    Record,
    SiteEvent,
)
from simulators.charger import ChargerConfig, ChargerFleet, EvSpec, OcppVersion
from simulators.inverter import BatteryParams, InverterSimulator, MeterSimulator

__all__ = ["Loop", "SimCharger", "site_loop"]

_PHASE_INDEX = {"L1": 0, "L2": 1, "L3": 2}


@dataclass(frozen=True)
class SimCharger:
    charger_id: str
    version: OcppVersion = OcppVersion.V201
    max_power_w: float = 11_000
    phases: int = 3
    grid_phases: tuple[str, ...] | None = None
    """For a single-phase charger, the grid phase it draws from."""
    gateway: dict[str, Any] = field(default_factory=dict)
    """Extra `ocpp.chargers[]` settings (priority, min_current_a, ...)."""
    bidirectional: bool = False
    """V2G: an OCPP 2.1 charger whose EV may discharge."""
    ev_soc_pct: float = 20.0


@dataclass
class Loop:
    gateway: Gateway
    fleet: ChargerFleet
    battery: InverterSimulator
    meter: MeterSimulator
    records: list[Record]

    def chargers_w(self) -> float:
        return sum(sim.power_w(1) for sim in self.fleet)

    def sim(self, charger_id: str) -> Any:
        return next(sim for sim in self.fleet if sim.config.charger_id == charger_id)

    def events(self) -> list[str]:
        return [r.event for r in self.records if isinstance(r, SiteEvent)]

    async def settle(self, predicate: Callable[[], bool], timeout_s: float = 60.0) -> None:
        """Wait until the site reaches a condition (simulated physics: nothing signals it)."""
        async with asyncio.timeout(timeout_s):
            while not predicate():  # noqa: ASYNC110
                await asyncio.sleep(0.1)

    async def command(
        self,
        kind: str,
        device_id: str,
        name: str,
        body: dict[str, Any],
        source: CommandSource = CommandSource.COMMAND,
    ) -> CommandResult:
        router = self.gateway.router
        request, args, rejection = router.parse(kind, device_id, name, json.dumps(body).encode())
        assert rejection is None and isinstance(request, CommandRequest), rejection
        return await router.dispatch(dataclasses.replace(request, source=source), args)


@asynccontextmanager
async def site_loop(
    tmp_path: Path,
    chargers: list[SimCharger],
    *,
    soc_pct: float = 60.0,
    mode: str = "auto",
    base_w: float = 20_000.0,
    site: dict[str, Any] | None = None,
    battery_w: float = 30_000.0,
    capacity_wh: float | None = 100_000.0,
    meter_interval_s: float = 0.3,
) -> AsyncIterator[Loop]:
    """`capacity_wh`: configured for the battery (None: left to what the inverter reports);
    `meter_interval_s`: how often the chargers send meter values."""
    battery = InverterSimulator(
        profile="sunspec", device_id="bess-1", soc_pct=soc_pct,
        params=BatteryParams(capacity_wh=100_000, max_charge_w=battery_w, max_discharge_w=battery_w),
        update_interval_s=0.1,
    )  # fmt: skip
    meter = MeterSimulator(
        device_id="grid-1", base_load=base_w, battery=battery.battery, update_interval_s=0.1
    )
    await battery.start()
    await meter.start()
    ocpp_port = free_port()
    config = Config.model_validate({
        "site": {"id": "loop", "grid_import_limit_w": 35_000, "controller_interval_s": 0.5,
                 "controller_margin_w": 1000, "min_change_interval_s": 1.0, **(site or {})},
        "state_dir": str(tmp_path),
        "http": {"enabled": False},
        "mqtt": {"enabled": False},
        "ocpp": {"host": "127.0.0.1", "port": ocpp_port, "authorize": {"accept_all": True},
                 "chargers": [
                     {"id": c.charger_id, "max_power_w": c.max_power_w, "phases": c.phases,
                      "bidirectional": c.bidirectional,
                      **({"grid_phases": list(c.grid_phases)} if c.grid_phases else {}), **c.gateway}
                     for c in chargers]},
        "modbus": {"devices": [
            {"id": "bess-1", "kind": "storage", "host": "127.0.0.1", "port": battery.port,
             "poll_interval_s": 0.2, "max_charge_w": battery_w, "max_discharge_w": battery_w,
             "soc_min_pct": 10, "soc_max_pct": 95, "initial_mode": mode,
             **({"capacity_wh": capacity_wh} if capacity_wh is not None else {})},
            {"id": "grid-1", "kind": "meter", "host": "127.0.0.1", "port": meter.port,
             "poll_interval_s": 0.2, "timeout_s": 0.3},
        ]},
    })  # fmt: skip
    gateway = Gateway(config)
    records: list[Record] = []
    gateway.recorder.subscribe(records.append)
    await gateway.start()
    serve = asyncio.create_task(gateway.serve(install_signal_handlers=False))
    fleet = ChargerFleet(
        [
            ChargerConfig(c.charger_id, url=f"ws://127.0.0.1:{ocpp_port}/ocpp",
                          ocpp_version=c.version, max_power_w=c.max_power_w, phases=c.phases,
                          bidirectional=c.bidirectional,
                          meter_interval_s=meter_interval_s, backoff_initial_s=0.2)
            for c in chargers
        ],
        stagger_s=0,
    )  # fmt: skip
    for c, sim in zip(chargers, fleet, strict=True):
        wired = tuple(_PHASE_INDEX[p] for p in c.grid_phases) if c.grid_phases else None
        meter.add_load(lambda sim=sim: sim.power_w(1), wired)  # type: ignore[misc]
    await fleet.start()
    try:
        for c, sim in zip(chargers, fleet, strict=True):
            await sim.wait_booted()
            ev = EvSpec(
                capacity_kwh=80, initial_soc_pct=c.ev_soc_pct, max_charge_w=c.max_power_w,
                max_discharge_w=c.max_power_w,
            )  # fmt: skip
            await sim.plug_in(1, ev=ev, id_tag="TAG")
        yield Loop(gateway, fleet, battery, meter, records)
    finally:
        await fleet.stop()
        gateway.request_stop()
        await asyncio.wait_for(serve, 30)
        await meter.stop()
        await battery.stop()
