"""/healthz and /metrics of a running gateway, against a real Mosquitto.

Device records are fed through the gateway's recorder, the same entry the drivers use; the
test with simulated devices is in test_real_devices.py.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from gateway.foundation.model import (
    ChargerId,
    ChargerState,
    ChargerTelemetry,
    DeviceId,
    EvseState,
    MeterTelemetry,
    SiteTelemetry,
    StorageState,
    StorageTelemetry,
)
from tests.ops.helpers import get, health, metric, running_gateway, wait_until

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def feed_site(gateway: Gateway) -> None:
    rec = gateway.recorder.record
    cp = ChargerId("CP-1")
    rec(ChargerState(cp, True, "2.0.1", "Acme", "AC22", evses={1: EvseState("Charging")}))
    rec(ChargerTelemetry(cp, 1, power_w=7200.0, energy_wh=1234.0, soc_pct=41.0))
    rec(StorageState(DeviceId("bess-1"), True, "manual"))
    rec(StorageTelemetry(DeviceId("bess-1"), power_w=-5000.0, soc_pct=55.5))
    rec(MeterTelemetry(DeviceId("grid-1"), power_w=2200.0, energy_wh=9e6))
    rec(SiteTelemetry(7200.0, -5000.0, 2200.0, 120000.0))


def by_id(document: dict[str, Any], group: str) -> dict[str, dict[str, Any]]:
    devices = document["devices"]
    assert isinstance(devices, dict)
    return {d["id"]: d for d in devices[group]}


async def test_healthz_and_metrics_show_components_broker_outbox_and_devices(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    config = make_config(
        mosquitto,
        # One site-controller tick at start, then none while the test looks.
        site={"controller_interval_s": 60},
        ocpp={"enabled": False, "chargers": [{"id": "CP-1"}, {"id": "CP-2"}]},
    )
    async with running_gateway(config) as gateway:
        assert gateway.http is not None and gateway.http.port  # ephemeral port, exposed
        await wait_until(lambda: gateway.link is not None and gateway.link.connected)
        delivered_before = await metric(gateway, "pilebridge_outbox_delivered_total") or 0.0
        feed_site(gateway)
        await wait_until(lambda: gateway.outbox.depth == 0)

        status, doc = await health(gateway)
        assert status == 200 and doc["status"] == "ok", doc["problems"]
        assert {c["name"] for c in doc["components"]} >= {"http", "mqtt", "leases"}
        assert all(c["running"] for c in doc["components"])
        assert doc["mqtt"]["connected"] is True
        assert doc["outbox"] == {
            "depth": 0,
            "bytes": 0,
            "dropped": 0,
            "dead_letters": 0,
            "refused": 0,
            "truncated": 0,
            "withdrawn": 0,
            "last_seq": gateway.outbox.last_seq,
            "failing": None,
        }
        assert doc["outbox"]["last_seq"] >= 6
        assert doc["version"] and doc["uptime_s"] >= 0 and doc["site_id"] == "test-site"
        chargers = by_id(doc, "chargers")
        assert chargers["CP-1"]["connected"] is True
        assert chargers["CP-1"]["state"]["evses"]["1"]["status"] == "Charging"
        assert chargers["CP-1"]["telemetry"]["1"]["power_w"] == 7200.0
        assert chargers["CP-1"]["updated_at"].endswith("Z")
        assert chargers["CP-2"]["connected"] is None and chargers["CP-2"]["telemetry"] == {}
        storage = by_id(doc, "storage")["bess-1"]
        assert storage["connected"] is True and storage["telemetry"]["0"]["soc_pct"] == 55.5
        assert by_id(doc, "meters")["grid-1"]["telemetry"]["0"]["power_w"] == 2200.0
        assert "chargers_power_w" in doc["site"]

        assert await metric(gateway, "pilebridge_mqtt_connected") == 1.0
        assert await metric(gateway, "pilebridge_outbox_depth") == 0.0
        delivered = await metric(gateway, "pilebridge_outbox_delivered_total")
        assert delivered is not None and delivered - delivered_before >= 6


async def test_broker_down_is_degraded_not_down_and_records_wait(
    make_config: Callable[..., Config],
) -> None:
    with socket.socket() as held:  # bound, never listening: connection refused, port not reused
        held.bind(("127.0.0.1", 0))
        config = make_config(
            None,
            mqtt={"enabled": True, "port": held.getsockname()[1]},
            ocpp={"enabled": False},
        )
        async with running_gateway(config) as gateway:
            await wait_until(lambda: gateway.link is not None and gateway.link.connects == 0)
            # Not configured, yet reported (allow_unknown_chargers): it shows up too.
            gateway.recorder.record(ChargerState(ChargerId("CP-1"), False, reason="offline"))
            await wait_until(lambda: gateway.outbox.depth == 1)
            await wait_until(lambda: all(c.running for c in gateway.supervisor.components))
            status, doc = await health(gateway)
            assert status == 200 and doc["status"] == "degraded"
            assert any("broker" in p for p in doc["problems"])
            assert "charger CP-1 is not connected" in doc["problems"]
            assert doc["outbox"]["depth"] == 1 and doc["mqtt"]["connected"] is False
            assert await metric(gateway, "pilebridge_mqtt_connected") == 0.0
            assert await metric(gateway, "pilebridge_outbox_depth") == 1.0


async def test_a_component_that_is_down_answers_503_with_its_error(
    make_config: Callable[..., Config],
) -> None:
    crashed = asyncio.Event()

    async def flaky() -> None:
        crashed.set()
        raise RuntimeError("disk on fire")

    config = make_config(None)
    async with running_gateway(config, lambda gw: gw.supervisor.add("flaky", flaky)) as gateway:
        await asyncio.wait_for(crashed.wait(), 10)
        await wait_until(lambda: gateway.supervisor.components[-1].restarts >= 1)
        status, doc = await health(gateway)
        assert status == 503 and doc["status"] == "down"
        flaky_doc = next(c for c in doc["components"] if c["name"] == "flaky")
        assert flaky_doc["running"] is False and "disk on fire" in flaky_doc["last_error"]
        assert "component flaky is not running" in doc["problems"]
        assert doc["mqtt"]["enabled"] is False


async def test_http_can_be_disabled_and_unknown_paths_are_404(
    make_config: Callable[..., Config],
) -> None:
    async with running_gateway(make_config(None, http={"enabled": False})) as gateway:
        assert gateway.http is None
        assert all(c.name != "http" for c in gateway.supervisor.components)
    async with running_gateway(make_config(None)) as gateway:
        assert gateway.http is not None and gateway.http.port
        assert (await get(gateway.http.port, "/"))[0] == 404
        status, content_type, body = await get(gateway.http.port, "/metrics")
        assert status == 200 and content_type.startswith("text/plain")
        assert b"# TYPE pilebridge_outbox_depth gauge" in body
