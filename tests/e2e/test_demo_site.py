"""The demo's wiring, headless: real simulators, real sockets, a real Mosquitto."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiomqtt

from gateway.demo.broker import PrivateMosquitto
from gateway.demo.site import DemoSite
from tests.conftest import Collector
from tests.ops.schemas import validate_message

TELEMETRY = [
    "/charger/CP-1/telemetry",
    "/charger/CP-2/telemetry",
    "/charger/CP-3/telemetry",
    "/storage/bess-1/telemetry",
    "/meter/grid-1/telemetry",
    "/site/telemetry",
]


async def test_every_simulated_device_reaches_mqtt_and_the_battery_obeys(
    mosquitto: PrivateMosquitto, tmp_path: Path
) -> None:
    site = DemoSite(
        mqtt_host=mosquitto.host, mqtt_port=mosquitto.port, chargers=3, state_dir=tmp_path
    )
    async with Collector(mosquitto.host, mosquitto.port, "pilebridge/demo/#") as collector:
        gateway = await site.start()
        serve = asyncio.create_task(gateway.serve(install_signal_handlers=False))
        drive = asyncio.create_task(site.drive())
        wanted = [*TELEMETRY, "/charger/CP-1/state", "/storage/bess-1/state", "/gateway/info"]
        try:
            await collector.wait_for(lambda: all(collector.on(t) for t in wanted), timeout=60)
            # A control centre sends the battery a setpoint, as the demo's hint line does.
            async with aiomqtt.Client(mosquitto.host, mosquitto.port) as control_centre:
                await control_centre.publish(
                    "pilebridge/demo/storage/bess-1/cmd/setpoint",
                    b'{"id": "demo-1", "power_w": -20000, "ttl_s": 60}',
                    qos=1,
                )
            await collector.wait_for(lambda: bool(collector.on("/cmd/setpoint/result")), timeout=20)
            result = collector.json("/cmd/setpoint/result")[0]
            assert (result["id"], result["status"]) == ("demo-1", "accepted"), result
            async with asyncio.timeout(20):
                while site.battery.battery.power_w > -19_000:  # the simulated battery follows
                    await asyncio.sleep(0.1)
        finally:
            drive.cancel()
            await site.stop()
            await asyncio.wait_for(serve, 20)
    # Energy flows: chargers draw power, the meter sees the site, the battery reports SoC.
    assert any(b.get("power_w", 0) > 0 for t in TELEMETRY[:3] for b in collector.json(t))
    assert collector.json("/meter/grid-1/telemetry")[-1]["power_w"] > 0
    assert 0 < collector.json("/storage/bess-1/telemetry")[-1]["soc_pct"] <= 100
    assert collector.json("/charger/CP-2/state")[-1]["ocpp_version"] == "2.0.1"
    # Every payload is what docs/mqtt-api.md documents, and seq never goes back.
    seqs = []
    for message in collector.messages:
        validate_message(str(message.topic), message.payload, gateway.topics)  # type: ignore[arg-type]
        if message.payload.startswith(b"{") and b'"seq"' in message.payload:  # type: ignore[union-attr]
            seqs.append(json.loads(message.payload)["seq"])  # type: ignore[arg-type]
    assert seqs == sorted(seqs)
