"""The demo site: the gateway with a generated config, simulated chargers, battery and grid meter.

Everything talks over real sockets on loopback: chargers over OCPP websockets (mixed 1.6J and
2.0.1), the battery inverter and the grid meter over Modbus TCP (SunSpec), the gateway to the
broker over MQTT. The grid meter reads base load + chargers + battery, so the site controller
works in closed loop: when EVs push the site over its import limit, the chargers are
curtailed (and once the battery is handed to the controller with `mode: auto`, it discharges
first). The battery starts in `manual` mode, so it takes `setpoint` commands like a real one.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from gateway.app import Gateway
from gateway.demo.broker import free_port
from gateway.demo.controls import GridMeterSwitch, add_demo_routes
from gateway.foundation.config import Config
from gateway.foundation.model import OcppVersion
from simulators.charger import ChargerConfig, ChargerFleet, ChargerSim, EvSpec
from simulators.inverter import BatteryParams, InverterSimulator, MeterSimulator, daily_curve

__all__ = ["DemoSite", "demo_config"]

log = structlog.get_logger("gateway.demo")

IMPORT_LIMIT_W = 60_000.0
DEMO_FIRMWARE = "demopile-1.1.0.bin"
"""A firmware image the demo's gateway serves (`http.files`), for `update_firmware`."""
TAGS = ("04A2B3C4D5E6F7", "DEMO-TAG-2", "DEMO-TAG-3", "DEMO-TAG-4")


def demo_config(
    *,
    mqtt_host: str,
    mqtt_port: int,
    state_dir: Path,
    ocpp_port: int,
    chargers: list[tuple[str, OcppVersion]],
    battery_port: int,
    meter_port: int,
    http_port: int = 0,
) -> Config:
    """The config a technician would write for this site, pointing at the simulators."""
    return Config.model_validate(
        {
            "site": {
                "id": "demo",
                "grid_import_limit_w": IMPORT_LIMIT_W,
                "grid_meter": "grid-1",
                "controller_interval_s": 2.0,
            },
            "state_dir": str(state_dir),
            # The web page on loopback needs no login (docs/web.md): open the printed URL.
            "http": {
                "host": "127.0.0.1",
                "port": http_port,
                "ui": True,
                "files": str(state_dir / "firmware"),
            },
            "mqtt": {
                "enabled": mqtt_port > 0,
                "host": mqtt_host or "127.0.0.1",
                "port": mqtt_port or 1883,
                "topic_prefix": "pilebridge",
            },
            "ocpp": {
                "host": "127.0.0.1",
                "port": ocpp_port,
                "heartbeat_interval_s": 60,
                "authorize": {"tags": list(TAGS)},
                "chargers": [{"id": cid, "max_power_w": 22000, "phases": 3} for cid, _ in chargers],
            },
            "modbus": {
                "devices": [
                    {
                        "id": "bess-1",
                        "kind": "storage",
                        "host": "127.0.0.1",
                        "port": battery_port,
                        "profile": "sunspec",
                        "poll_interval_s": 1.0,
                        "max_charge_w": 50000,
                        "max_discharge_w": 50000,
                        "soc_min_pct": 10,
                        "soc_max_pct": 95,
                        # No capacity_wh: the flexibility's durations come from the rated
                        # capacity the inverter reports (SunSpec WHRtg, 200 kWh here).
                    },
                    {
                        "id": "grid-1",
                        "kind": "meter",
                        "host": "127.0.0.1",
                        "port": meter_port,
                        "profile": "sunspec",
                        "poll_interval_s": 1.0,
                    },
                ]
            },
        }
    )


class DemoSite:
    def __init__(
        self, *, mqtt_host: str, mqtt_port: int, chargers: int, state_dir: Path, http_port: int = 0
    ) -> None:
        self.mqtt_host, self.mqtt_port = mqtt_host, mqtt_port
        self.http_port = http_port
        self.state_dir = state_dir
        self.charger_ids = [
            (f"CP-{i + 1}", OcppVersion.V16 if i % 2 == 0 else OcppVersion.V201) for i in range(max(0, chargers))
        ]
        self.battery = InverterSimulator(
            profile="sunspec", device_id="bess-1", soc_pct=60.0,
            params=BatteryParams(capacity_wh=200_000, max_charge_w=50_000, max_discharge_w=50_000),
        )  # fmt: skip
        # A compressed day (10 minutes) so the base load visibly rises and falls.
        self.meter = MeterSimulator(
            device_id="grid-1", base_load=daily_curve(12_000, 38_000, period_s=600.0),
            battery=self.battery.battery,
        )  # fmt: skip
        self.grid_meter = GridMeterSwitch(self.meter)
        """`POST /demo/grid-meter/off|on`: the meter goes missing and comes back (fail-safe)."""
        self.fleet: ChargerFleet | None = None
        self.gateway: Gateway | None = None
        self._rng = random.Random(7)

    async def start(self) -> Gateway:
        await self.battery.start()
        await self.meter.start()
        ocpp_port = free_port()
        config = demo_config(
            mqtt_host=self.mqtt_host, mqtt_port=self.mqtt_port, state_dir=self.state_dir,
            ocpp_port=ocpp_port, chargers=self.charger_ids,
            battery_port=self.battery.port, meter_port=self.meter.port, http_port=self.http_port,
        )  # fmt: skip
        firmware = self.state_dir / "firmware"
        firmware.mkdir(parents=True, exist_ok=True)
        (firmware / DEMO_FIRMWARE).write_bytes(b"version=1.1.0\n" + bytes(64 * 1024))
        self.gateway = self._gateway(config)
        try:
            await self.gateway.start()
        except OSError:
            if not self.http_port:
                raise
            # Taken since it was checked (another demo?): the page goes to any free port.
            self.http_port = 0
            http = config.http.model_copy(update={"port": 0})
            self.gateway = self._gateway(config.model_copy(update={"http": http}))
            await self.gateway.start()
        self.fleet = ChargerFleet(
            [
                ChargerConfig(
                    cid,
                    url=f"ws://127.0.0.1:{ocpp_port}/ocpp",
                    ocpp_version=version,
                    vendor="PileBridge",
                    model=f"DemoPile-{version}",
                    serial=f"DEMO-{cid}",
                    meter_interval_s=5.0,
                    heartbeat_interval_s=60.0,
                    backoff_initial_s=0.5,
                )
                for cid, version in self.charger_ids
            ],
            stagger_s=0.1,
            seed=7,
        )
        for sim in self.fleet:
            self.meter.add_load(_power_of(sim))
        await self.fleet.start()
        return self.gateway

    def _gateway(self, config: Config) -> Gateway:
        gateway = Gateway(config)
        if gateway.http is not None:
            add_demo_routes(gateway.http.app, self.grid_meter)
        return gateway

    async def stop(self) -> None:
        if self.fleet is not None:
            await self.fleet.stop()
        if self.gateway is not None:
            self.gateway.request_stop()
        await self.meter.stop()
        await self.battery.stop()

    async def drive(self) -> None:
        """Cars come and go: an idle charger gets a new EV every few seconds."""
        assert self.gateway is not None and self.fleet is not None
        while True:
            idle = [s for s in self.fleet if s.online and s.transaction_id(1) is None]
            if idle:
                sim = self._rng.choice(idle)
                ev = EvSpec(
                    capacity_kwh=self._rng.choice((40, 60, 77)),
                    initial_soc_pct=self._rng.uniform(10, 60),
                    max_charge_w=22_000,
                )
                with contextlib.suppress(Exception):
                    await sim.plug_in(
                        1,
                        ev=ev,
                        id_tag=self._rng.choice(TAGS),
                        duration_s=self._rng.uniform(60, 240),
                    )
            await asyncio.sleep(self._rng.uniform(3, 8))

    @property
    def page_url(self) -> str | None:
        """Where the web page is, once started."""
        gw = self.gateway
        return f"{gw.http.url}/" if gw is not None and gw.http is not None else None

    def snapshot(self) -> dict[str, Any]:
        """What the live view shows: simulator truths next to what the gateway publishes."""
        assert self.gateway is not None
        return {
            "chargers": [
                {
                    "id": s.config.charger_id,
                    "version": s.config.ocpp_version.value,
                    "online": s.online,
                    "status": s.status(1).value,
                    "power_w": s.power_w(1),
                    "soc_pct": s.soc_pct(1),
                    "limit_w": s.limit_w(1),
                    "energy_wh": s.energy_wh(1),
                }
                for s in (self.fleet or [])
            ],
            "battery": {
                "power_w": self.battery.battery.power_w,
                "soc_pct": self.battery.battery.soc_pct,
            },
            "grid_w": self.meter.power_w,
            "grid_meter_online": self.grid_meter.online,
            "limit_w": self.gateway.site.limits.import_w,
            "outbox_depth": self.gateway.outbox.depth,
            "last_seq": self.gateway.outbox.last_seq,
            "mqtt_connected": bool(self.gateway.link and self.gateway.link.connected),
        }


def _power_of(sim: ChargerSim) -> Callable[[], float]:
    """What this charger draws now: one of the grid meter's loads."""
    return lambda: sum(sim.power_w(evse) for evse in sim.evses)
