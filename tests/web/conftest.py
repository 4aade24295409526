"""A small real site for the web page tests: gateway with the page on, simulated chargers
(OCPP 1.6J and 2.0.1 over websockets), a battery inverter and a grid meter (Modbus TCP),
and a private Mosquitto; everything on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto, free_port
from gateway.foundation.config import Config
from gateway.foundation.model import DeviceKind
from gateway.foundation.passwords import hash_password
from simulators.charger import ChargerConfig, ChargerFleet, ChargerSim, OcppVersion
from simulators.inverter import BatteryParams, InverterSimulator, MeterSimulator
from tests.conftest import running_gateway

PASSWORDS = {"alice": "alice-operates-1", "victor": "victor-views-1"}
# A cheaper scrypt cost than the default keeps logins fast in tests; the format is the same.
USERS = [
    {"name": "alice", "password_hash": hash_password(PASSWORDS["alice"], n=2**10), "role": "operator"},
    {"name": "victor", "password_hash": hash_password(PASSWORDS["victor"], n=2**10), "role": "viewer"},
]  # fmt: skip


@dataclass
class WebSite:
    gateway: Gateway
    chargers: dict[str, ChargerSim]
    battery: InverterSimulator
    meter: MeterSimulator

    @property
    def url(self) -> str:
        assert self.gateway.http is not None
        return f"{self.gateway.http.url}/"


def site_config(
    tmp_path: Path,
    broker: PrivateMosquitto | None,
    ocpp_port: int,
    battery: InverterSimulator,
    meter: MeterSimulator,
    http: dict[str, Any],
) -> Config:
    return Config.model_validate({
        "site": {"id": "web-test", "grid_import_limit_w": 60_000, "grid_meter": "grid-1",
                 "controller_interval_s": 1.0},
        "state_dir": str(tmp_path / "state"),
        "http": {"host": "127.0.0.1", "port": 0, "ui": True, **http},
        "mqtt": {"enabled": broker is not None, "host": "127.0.0.1",
                 "port": broker.port if broker else 1, "topic_prefix": "pbweb",
                 "outbox": {"synchronous": "normal"}},
        "ocpp": {"host": "127.0.0.1", "port": ocpp_port, "authorize": {"accept_all": True},
                 "chargers": [{"id": "CP-1", "max_power_w": 22000}, {"id": "CP-2", "max_power_w": 11000}]},
        "modbus": {"devices": [
            {"id": "bess-1", "kind": "storage", "host": "127.0.0.1", "port": battery.port,
             "poll_interval_s": 0.3, "max_charge_w": 30000, "max_discharge_w": 30000,
             "soc_min_pct": 10, "soc_max_pct": 95, "initial_mode": "manual"},
            {"id": "grid-1", "kind": "meter", "host": "127.0.0.1", "port": meter.port,
             "poll_interval_s": 0.3},
        ]},
    })  # fmt: skip


@pytest.fixture
def make_web_site(tmp_path: Path, mosquitto: PrivateMosquitto) -> Callable[..., Any]:
    """`async with make_web_site(users=...) as site:` (users=[] opens the page on loopback)."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def factory(users: list[dict[str, Any]] | None = None) -> AsyncIterator[WebSite]:
        battery = InverterSimulator(
            profile="sunspec", device_id="bess-1", soc_pct=60.0, update_interval_s=0.2,
            params=BatteryParams(capacity_wh=100_000, max_charge_w=30_000, max_discharge_w=30_000),
        )  # fmt: skip
        meter = MeterSimulator(
            device_id="grid-1", base_load=15_000.0, battery=battery.battery, update_interval_s=0.2
        )
        await battery.start()
        await meter.start()
        ocpp_port = free_port()
        http = {"users": USERS if users is None else users}
        config = site_config(tmp_path, mosquitto, ocpp_port, battery, meter, http)
        fleet = ChargerFleet(
            [
                ChargerConfig(cid, url=f"ws://127.0.0.1:{ocpp_port}/ocpp", ocpp_version=version,
                              vendor="Simu", model=f"Sim-{cid}", meter_interval_s=0.5,
                              backoff_initial_s=0.2)
                for cid, version in (("CP-1", OcppVersion.V16), ("CP-2", OcppVersion.V201))
            ],
            stagger_s=0,
        )  # fmt: skip
        for sim in fleet:
            meter.add_load(lambda sim=sim: sim.power_w(1))  # type: ignore[misc]
        try:
            async with running_gateway(config) as gateway:
                await fleet.start()
                try:
                    for sim in fleet:
                        await sim.wait_booted()
                    await wait_for(lambda: _connected(gateway, DeviceKind.STORAGE, "bess-1"))
                    yield WebSite(gateway, {s.config.charger_id: s for s in fleet}, battery, meter)
                finally:
                    await fleet.stop()
        finally:
            await meter.stop()
            await battery.stop()

    return factory


def client() -> aiohttp.ClientSession:
    """A client that keeps cookies of an IP-address host, as a browser does."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def login(
    session: aiohttp.ClientSession, base: str, user: str, password: str
) -> aiohttp.ClientResponse:
    """A form login as a browser sends it (same Origin); redirects are not followed."""
    return await session.post(
        f"{base}login",
        data={"user": user, "password": password},
        headers={"Origin": base.rstrip("/")},
        allow_redirects=False,
    )


async def csrf_of(session: aiohttp.ClientSession, base: str) -> str:
    """The CSRF token in the page's <meta> (what the page's script sends back)."""
    async with session.get(base) as response:
        html = await response.text()
    marker = '<meta name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def _connected(gateway: Gateway, kind: DeviceKind, device_id: str) -> bool:
    twin = gateway.recorder.twins.get(kind, device_id)
    return bool(twin and twin.state and twin.state.connected)


async def wait_for(predicate: Callable[[], Any], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)
