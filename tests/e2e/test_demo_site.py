"""The demo's wiring, headless: real simulators, real sockets, a real Mosquitto."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.demo.broker import PrivateMosquitto
from gateway.demo.site import DemoSite
from tests.conftest import Collector


async def test_every_simulated_device_reaches_mqtt(
    mosquitto: PrivateMosquitto, tmp_path: Path
) -> None:
    site = DemoSite(
        mqtt_host=mosquitto.host, mqtt_port=mosquitto.port, chargers=3, state_dir=tmp_path
    )
    async with Collector(mosquitto.host, mosquitto.port, "pilebridge/demo/#") as collector:
        gateway = await site.start()
        serve = asyncio.create_task(gateway.serve(install_signal_handlers=False))
        drive = asyncio.create_task(site.drive())
        wanted = [
            "/charger/CP-1/telemetry",
            "/charger/CP-2/telemetry",
            "/charger/CP-3/telemetry",
            "/charger/CP-1/state",
            "/storage/bess-1/telemetry",
            "/storage/bess-1/state",
            "/meter/grid-1/telemetry",
            "/site/telemetry",
            "/gateway/info",
        ]
        try:
            await collector.wait_for(lambda: all(collector.on(t) for t in wanted), timeout=60)
        finally:
            drive.cancel()
            await site.stop()
            await asyncio.wait_for(serve, 20)
    # Energy flows: chargers draw power, the meter sees the site, the battery reports SoC.
    assert any(b.get("power_w", 0) > 0 for t in wanted[:3] for b in collector.json(t))
    meter = collector.json("/meter/grid-1/telemetry")[-1]
    assert meter["power_w"] > 0
    assert 0 < collector.json("/storage/bess-1/telemetry")[-1]["soc_pct"] <= 100
    state = collector.json("/charger/CP-2/state")[-1]
    assert state["ocpp_version"] == "2.0.1"
    seqs = [
        b["seq"]
        for m in collector.messages
        if m.payload.startswith(b"{") and b'"seq"' in m.payload
        for b in [__import__("json").loads(m.payload)]
    ]
    assert seqs == sorted(seqs)
