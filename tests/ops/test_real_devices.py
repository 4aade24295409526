"""A whole site on loopback: simulated charger (OCPP 2.0.1), battery inverter and grid meter
(Modbus TCP), the gateway with its real drivers, a real Mosquitto. Health, metrics, status
and every published message are checked against what the devices are doing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from simulators.charger import ChargerConfig, ChargerSim, OcppVersion
from simulators.inverter import InverterSimulator, MeterSimulator
from tests.conftest import Collector
from tests.ops.helpers import health, metric, running_gateway
from tests.ops.schemas import validate_message
from tests.ops.test_status_command import status


def ocpp_port(gateway: Gateway) -> int:
    driver: Any = next(d for d in gateway.drivers if d.name == "ocpp")
    return int(driver.port)


def device(doc: dict[str, Any], group: str, device_id: str) -> dict[str, Any]:
    return next(d for d in doc["devices"][group] if d["id"] == device_id)


async def wait_health(
    gateway: Gateway, predicate: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Poll /healthz until the predicate holds (devices report on their own schedule)."""
    async with asyncio.timeout(30):
        while True:
            _, doc = await health(gateway)
            if predicate(doc):
                return doc
            await asyncio.sleep(0.1)


async def test_health_metrics_and_payloads_with_simulated_devices(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    async with InverterSimulator(soc_pct=60.0) as bess, MeterSimulator(base_load=8000.0) as meter:
        config = make_config(
            mosquitto,
            ocpp={
                "enabled": True,
                "host": "127.0.0.1",
                "port": 0,
                "chargers": [{"id": "CP-1"}],
                "authorize": {"accept_all": True},
            },
            modbus={
                "devices": [
                    {
                        "id": "bess-1",
                        "kind": "storage",
                        "host": "127.0.0.1",
                        "port": bess.port,
                        "poll_interval_s": 0.2,
                    },
                    {
                        "id": "grid-1",
                        "kind": "meter",
                        "host": "127.0.0.1",
                        "port": meter.port,
                        "poll_interval_s": 0.2,
                    },
                ]
            },
            homeassistant={"enabled": True},
        )
        base = f"{config.mqtt.topic_prefix}/{config.site.id}"
        async with (
            Collector(mosquitto.host, mosquitto.port, f"{base}/#") as everything,
            running_gateway(config) as gateway,
        ):
            charger = ChargerConfig(
                "CP-1",
                url=f"ws://127.0.0.1:{ocpp_port(gateway)}/ocpp",
                ocpp_version=OcppVersion.V201,
                meter_interval_s=6,
                time_scale=60,
                vendor="SimVendor",
            )
            async with ChargerSim(charger) as sim:
                await sim.wait_booted()
                await sim.plug_in(1, id_tag="04A2B3C4")

                def charging(doc: dict[str, Any]) -> bool:
                    cp = device(doc, "chargers", "CP-1")
                    values = (cp["telemetry"] or {}).get("1") or {}
                    return bool(cp["connected"]) and (values.get("power_w") or 0) > 0

                doc = await wait_health(gateway, charging)
                doc = await wait_health(
                    gateway,
                    lambda d: (
                        device(d, "storage", "bess-1")["connected"] is True
                        and device(d, "meters", "grid-1")["connected"] is True
                        and "soc_pct"
                        in (device(d, "storage", "bess-1")["telemetry"].get("0") or {})
                    ),
                )
                cp = device(doc, "chargers", "CP-1")
                assert cp["state"]["vendor"] == "SimVendor"
                assert cp["state"]["ocpp_version"] == "2.0.1"
                assert cp["telemetry"]["1"]["power_w"] > 0
                storage = device(doc, "storage", "bess-1")["telemetry"]["0"]
                assert abs(storage["soc_pct"] - bess.battery.soc_pct) < 1.0
                assert device(doc, "meters", "grid-1")["telemetry"]["0"]["power_w"] > 0
                assert doc["status"] == "ok", doc["problems"]
                assert {c["name"] for c in doc["components"]} >= {
                    "ocpp",
                    "modbus",
                    "mqtt",
                    "http",
                    "homeassistant",
                }

                assert await metric(gateway, "pilebridge_ocpp_chargers_connected") == 1.0
                polls = await metric(
                    gateway, "pilebridge_modbus_poll_seconds_count", device="bess-1"
                )
                assert polls is not None and polls > 0
                ocpp_in = await metric(
                    gateway, "pilebridge_messages_total", protocol="ocpp", direction="in"
                )
                assert ocpp_in is not None and ocpp_in > 0

                await everything.wait_for(
                    lambda: bool(everything.json("/charger/CP-1/transaction"))
                )

                assert gateway.http is not None
                code, out, err = await status("--url", f"{gateway.http.url}/healthz")
                assert code == 0, err
                line = next(x for x in out.splitlines() if "CP-1 #1" in x)
                assert "connected" in line and " W" in line  # EVSE status as the charger says
                assert "connected" in next(x for x in out.splitlines() if "bess-1" in x)

        validated = set()
        for message in everything.messages:
            assert isinstance(message.payload, bytes)
            validated.add(validate_message(str(message.topic), message.payload, gateway.topics))
        assert {"charger-state", "charger-telemetry", "charger-transaction"} <= validated
        assert {"storage-state", "storage-telemetry", "meter-telemetry"} <= validated
        started = everything.json("/charger/CP-1/transaction")[0]
        assert started["event"] == "started" and started["id_tag"] == "04A2B3C4"
        assert [m.payload for m in everything.on("/gateway/availability")][-1] == b"offline"
