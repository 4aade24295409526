"""The demo's grid meter goes missing and comes back, as a user does it (`curl -X POST
.../demo/grid-meter/off`), and the control centre sees the fail-safe on MQTT."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import aiomqtt

from gateway.demo.broker import PrivateMosquitto, free_port
from gateway.demo.site import DemoSite
from simulators.charger import EvSpec
from tests.conftest import Collector

MINIMUM_W = 6 * 230 * 3
"""Each demo charger at its minimum current: the default fail-safe."""


async def test_the_demo_grid_meter_goes_missing_and_comes_back(
    mosquitto: PrivateMosquitto, tmp_path: Path
) -> None:
    site = DemoSite(
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        chargers=2,
        state_dir=tmp_path,
        http_port=free_port(),
    )
    site.meter.meter.site.base_load = 20_000.0
    async with Collector(mosquitto.host, mosquitto.port, "pilebridge/demo/#") as collector:
        gateway = await site.start()
        serve = asyncio.create_task(gateway.serve(install_signal_handlers=False))
        try:
            assert site.fleet is not None and site.page_url is not None
            for sim in site.fleet:
                await sim.wait_booted()
                ev = EvSpec(capacity_kwh=77, initial_soc_pct=20, max_charge_w=22_000)
                await sim.plug_in(1, ev=ev, id_tag="DEMO-TAG-2")
            await collector.wait_for(lambda: bool(collector.on("/site/telemetry")), timeout=30)
            async with aiomqtt.Client(mosquitto.host, mosquitto.port) as control_centre:
                await control_centre.publish(
                    "pilebridge/demo/storage/bess-1/cmd/mode", b'{"mode": "auto"}', qos=1
                )
            await collector.wait_for(lambda: bool(collector.on("/cmd/mode/result")), timeout=20)
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{site.page_url}demo/grid-meter/off") as answer:
                    assert answer.status == 200
                    assert await answer.json() == {"grid_meter": "offline"}
                await collector.wait_for(lambda: _events(collector, "grid_meter_lost"), timeout=30)
                # The fail-safe: each charger at its minimum, the battery in auto at 0 W.
                await collector.wait_for(lambda: _failsafe_applied(collector), timeout=30)
                async with asyncio.timeout(30):
                    while any(abs((sim.limit_w(1) or 1e9) - MINIMUM_W) > 50 for sim in site.fleet):
                        await asyncio.sleep(0.1)
                async with http.post(f"{site.page_url}demo/grid-meter/on") as answer:
                    assert await answer.json() == {"grid_meter": "online"}
                await collector.wait_for(lambda: _events(collector, "grid_meter_back"), timeout=30)
                # Normal control resumes: 20 kW base + 44 kW of EVs against 60 kW, with a
                # battery to cover the rest: the chargers' shares are lifted again.
                async with asyncio.timeout(60):
                    while any(sim.limit_w(1) is not None for sim in site.fleet):
                        await asyncio.sleep(0.1)
                latest = collector.json("/site/telemetry")[-1]
                assert "failsafe" not in latest
        finally:
            await site.stop()
            await asyncio.wait_for(serve, 20)


def _events(collector: Collector, name: str) -> bool:
    return any(body["event"] == name for body in collector.json("/site/event"))


def _failsafe_applied(collector: Collector) -> bool:
    latest = collector.json("/site/telemetry")[-1]
    shares = latest.get("charger_shares_w") or {}
    return (
        latest.get("failsafe") is True
        and latest.get("storage_setpoints_w") == {"bess-1": 0.0}
        and all(abs((shares.get(c) or 0) - MINIMUM_W) < 1 for c in ("CP-1", "CP-2"))
    )
