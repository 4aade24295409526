"""The whole gateway with a real Mosquitto and the simulated inverter and meter."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Callable
from typing import Any

import aiomqtt

from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from simulators.inverter import BatteryParams, InverterSimulator
from tests.conftest import Collector, running_gateway

PARAMS = BatteryParams(capacity_wh=100_000, max_charge_w=50_000, max_discharge_w=50_000)


def modbus_section(port: int, **storage: Any) -> dict[str, Any]:
    common = {"host": "127.0.0.1", "port": port, "poll_interval_s": 0.2, "timeout_s": 0.5}
    return {
        "devices": [
            {"id": "bess-1", "kind": "storage", "unit_id": 1, "max_discharge_w": 30_000,
             "fallback_power_w": 0, **common, **storage},
            {"id": "grid", "kind": "meter", "unit_id": 2, **common},
        ]
    }  # fmt: skip


async def command(gateway: Gateway, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    topic = f"{gateway.topics.base}/{path}"
    port = gateway.config.mqtt.port
    request_id = uuid.uuid4().hex[:8]
    async with Collector("127.0.0.1", port, f"{topic}/result") as results:
        async with aiomqtt.Client("127.0.0.1", port, identifier=f"cc-{request_id}") as client:
            await client.publish(topic, json.dumps({"id": request_id, **payload}), qos=1)
        await results.wait_for(lambda: any(r["id"] == request_id for r in results.json("/result")))
        return next(r for r in results.json("/result") if r["id"] == request_id)


async def test_telemetry_and_state_reach_mqtt(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    async with InverterSimulator(params=PARAMS, soc_pct=55.0, meter_unit_id=2) as sim:
        config = make_config(mosquitto, modbus=modbus_section(sim.port))
        async with running_gateway(config) as gateway:
            base = gateway.topics.base
            async with Collector(mosquitto.host, mosquitto.port, f"{base}/#") as seen:

                def ready() -> bool:
                    states = seen.json("storage/bess-1/state")
                    return (
                        bool(seen.on("storage/bess-1/telemetry"))
                        and bool(seen.on("meter/grid/telemetry"))
                        and any(s["connected"] for s in states)
                        and any(s["connected"] for s in seen.json("meter/grid/state"))
                    )

                await seen.wait_for(ready, 15)
                telemetry = seen.json("storage/bess-1/telemetry")[-1]
                assert telemetry["soc_pct"] == 55.0 and telemetry["power_w"] == 0.0
                assert telemetry["max_charge_w"] == 50_000
                assert telemetry["ts"].endswith("Z") and telemetry["seq"] > 0
                state = [s for s in seen.json("storage/bess-1/state") if s["connected"]][-1]
                assert state["mode"] == "manual"
                assert state["limits"] == {
                    "max_charge_w": 50_000, "max_discharge_w": 30_000,
                    "soc_min_pct": 10.0, "soc_max_pct": 95.0,
                }  # fmt: skip
                assert state["identity"]["manufacturer"]
                topic = f"{base}/storage/bess-1/state"
                async with Collector(mosquitto.host, mosquitto.port, topic) as late:
                    await late.wait_for(lambda: bool(late.messages))
                    assert late.messages[0].retain  # a control centre joining later sees it
                meter = seen.json("meter/grid/telemetry")[-1]
                assert meter["power_w"] > 0  # the simulated site imports its base load
                assert set(meter["phases"]) == {"L1", "L2", "L3"}


async def test_setpoint_commands_and_lease_expiry(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    async with InverterSimulator(params=PARAMS, soc_pct=55.0, meter_unit_id=2) as sim:
        config = make_config(mosquitto, modbus=modbus_section(sim.port))
        async with running_gateway(config) as gateway:
            base = gateway.topics.base
            async with Collector(mosquitto.host, mosquitto.port, f"{base}/storage/#") as seen:
                await seen.wait_for(
                    lambda: any(s["connected"] for s in seen.json("bess-1/state")), 15
                )
                clamped = await command(
                    gateway, "storage/bess-1/cmd/setpoint", {"power_w": -45_000}
                )
                assert clamped["status"] == "accepted"
                assert clamped["detail"]["applied_power_w"] == -30_000
                assert clamped["detail"]["clamped"] is True
                assert "max_discharge_w 30000" in clamped["reason"]
                await seen.wait_for(lambda: seen.json("bess-1/telemetry")[-1]["power_w"] == -30_000)

                plain = await command(
                    gateway, "storage/bess-1/cmd/setpoint", {"power_w": 12_000, "ttl_s": 1.0}
                )
                assert plain["status"] == "accepted"
                assert plain["detail"]["applied_power_w"] == 12_000
                assert plain["detail"]["clamped"] is False and "expires_at" in plain["detail"]
                await seen.wait_for(
                    lambda: seen.json("bess-1/state")[-1].get("reason") == "lease_expired"
                )
                lapsed = seen.json("bess-1/state")[-1]
                assert lapsed["setpoint"]["power_w"] == 0.0
                assert lapsed["setpoint"]["source"] == "fallback"
                await seen.wait_for(lambda: seen.json("bess-1/telemetry")[-1]["power_w"] == 0.0)
                assert sim.battery.power_w == 0.0

                bad = await command(gateway, "storage/bess-1/cmd/setpoint", {"power_w": "lots"})
                assert bad["status"] == "rejected"
                idle = await command(gateway, "storage/bess-1/cmd/mode", {"mode": "idle"})
                assert idle["status"] == "accepted"
                refused = await command(gateway, "storage/bess-1/cmd/setpoint", {"power_w": 1_000})
                assert refused["status"] == "rejected" and "mode 'idle'" in refused["reason"]
                await seen.wait_for(lambda: seen.json("bess-1/state")[-1]["mode"] == "idle")


async def test_device_drop_is_visible_in_retained_state(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    async with InverterSimulator(params=PARAMS, meter_unit_id=2) as sim:
        config = make_config(mosquitto, modbus=modbus_section(sim.port))
        async with running_gateway(config) as gateway:
            base = gateway.topics.base
            async with Collector(mosquitto.host, mosquitto.port, f"{base}/storage/#") as seen:

                def connected_states() -> list[bool]:
                    return [s["connected"] for s in seen.json("bess-1/state")]

                await seen.wait_for(lambda: True in connected_states(), 15)
                await sim.drop(refuse_s=1.5)
                await seen.wait_for(lambda: connected_states()[-1] is False, 15)
                assert seen.json("bess-1/state")[-1]["reason"] == "device_unreachable"
                await seen.wait_for(lambda: connected_states()[-1] is True, 15)
                # one "lost" and one "back", not a flapping series
                states = connected_states()
                states = states[states.index(True) :]
                changes = [b for a, b in itertools.pairwise(states) if a != b]
                assert changes == [False, True]


async def test_mqtt_loss_sends_the_battery_to_its_fallback(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    async with InverterSimulator(params=PARAMS, meter_unit_id=2) as sim:
        section = modbus_section(sim.port, fallback_power_w=-2_000)
        config = make_config(mosquitto, modbus=section)
        async with running_gateway(config) as gateway:
            base = gateway.topics.base
            async with Collector(mosquitto.host, mosquitto.port, f"{base}/storage/#") as seen:
                await seen.wait_for(
                    lambda: any(s["connected"] for s in seen.json("bess-1/state")), 15
                )
            result = await command(
                gateway, "storage/bess-1/cmd/setpoint", {"power_w": 20_000, "ttl_s": 600}
            )
            assert result["status"] == "accepted"
            await mosquitto.stop()
            storage = next(d for d in gateway.drivers if d.name == "modbus").storage("bess-1")  # type: ignore[attr-defined]
            deadline = 100
            while storage.setpoint_w != -2_000 and deadline:
                await asyncio.sleep(0.1)
                deadline -= 1
            assert storage.setpoint_w == -2_000
            assert storage.state().reason == "mqtt_lost"
            while sim.battery.power_w != -2_000 and deadline:
                await asyncio.sleep(0.1)
                deadline -= 1
            assert sim.battery.power_w == -2_000
            await mosquitto.start()
            topic = f"{base}/storage/bess-1/state"
            async with Collector(mosquitto.host, mosquitto.port, topic) as late:
                await late.wait_for(
                    lambda: any(s.get("reason") == "mqtt_lost" for s in late.json("/state")), 15
                )
