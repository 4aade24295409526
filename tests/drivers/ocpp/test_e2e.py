"""The whole gateway with a real Mosquitto and real OCPP chargers: MQTT payloads and commands."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import aiomqtt
import pytest

from drivers.ocpp.driver import OcppDriver
from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from tests.conftest import Collector, running_gateway
from tests.drivers.ocpp.peers import Peer, charger

CHARGERS = [
    {"id": "CP-16"},
    {"id": "CP-201", "rate_unit": "A", "phases": 1},
    {"id": "CP-21", "bidirectional": True, "max_power_w": 11000},
]
OCPP = {
    "enabled": True,
    "host": "127.0.0.1",
    "port": 0,
    "chargers": CHARGERS,
    "authorize": {"tags": ["TAG-1"]},
    "call_timeout_s": 1.0,
}
TS = "2026-03-01T08:00:00Z"


def ocpp_port(gateway: Gateway) -> int:
    return next(d for d in gateway.drivers if isinstance(d, OcppDriver)).port


async def wait_mqtt(gateway: Gateway) -> None:
    async with asyncio.timeout(10):
        while not (gateway.link and gateway.link.connected):
            await asyncio.sleep(0.02)


async def session_16(cp: Peer) -> None:
    await cp.boot()
    await cp.raw(
        "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}
    )
    tx = (
        await cp.raw(
            "StartTransaction",
            {"connectorId": 1, "idTag": "tag-1", "meterStart": 1000, "timestamp": TS},
        )
    )["transactionId"]
    await cp.raw(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": [
                {
                    "timestamp": TS,
                    "sampledValue": [
                        {
                            "value": "3.5",
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "kWh",
                        },
                        {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
                        {
                            "value": "10.4",
                            "measurand": "Current.Import",
                            "unit": "A",
                            "phase": "L1",
                        },
                    ],
                }
            ],
        },
    )
    await cp.raw(
        "StopTransaction",
        {"transactionId": tx, "meterStop": 4000, "timestamp": TS, "reason": "Local"},
    )


async def session_2(cp: Peer) -> None:
    await cp.boot()
    await cp.raw(
        "StatusNotification",
        {"timestamp": TS, "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1},
    )
    base = {"timestamp": TS, "transactionInfo": {"transactionId": "T-1"}}

    def energy(wh: float, ctx: str) -> list[dict[str, Any]]:
        return [
            {
                "timestamp": TS,
                "sampledValue": [
                    {
                        "value": wh,
                        "measurand": "Energy.Active.Import.Register",
                        "context": ctx,
                        "unitOfMeasure": {"unit": "Wh"},
                    },
                    {
                        "value": 7200,
                        "measurand": "Power.Active.Import",
                        "context": ctx,
                        "unitOfMeasure": {"unit": "W"},
                    },
                ],
            }
        ]

    await cp.raw(
        "TransactionEvent",
        {
            **base,
            "eventType": "Started",
            "triggerReason": "Authorized",
            "seqNo": 0,
            "evse": {"id": 1, "connectorId": 1},
            "idToken": {"idToken": "TAG-1", "type": "ISO14443"},
            "meterValue": energy(1000, "Transaction.Begin"),
        },
    )
    await cp.raw(
        "TransactionEvent",
        {
            **base,
            "eventType": "Updated",
            "triggerReason": "MeterValuePeriodic",
            "seqNo": 1,
            "meterValue": energy(3500, "Sample.Periodic"),
        },
    )
    await cp.raw(
        "TransactionEvent",
        {
            **base,
            "eventType": "Ended",
            "triggerReason": "StopAuthorized",
            "seqNo": 2,
            "transactionInfo": {"transactionId": "T-1", "stoppedReason": "Local"},
            "meterValue": energy(4000, "Transaction.End"),
        },
    )


@pytest.mark.parametrize(
    ("version", "cid"), [("1.6", "CP-16"), ("2.0.1", "CP-201"), ("2.1", "CP-21")]
)
async def test_state_telemetry_and_transactions_on_mqtt(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config], version: str, cid: str
) -> None:
    config = make_config(mosquitto, ocpp=OCPP)
    async with running_gateway(config) as gateway:
        await wait_mqtt(gateway)
        base = f"{gateway.topics.base}/charger/{cid}"
        async with Collector(mosquitto.host, mosquitto.port, f"{base}/#") as mqtt:
            async with charger(ocpp_port(gateway), cid, version) as cp:
                await (session_16(cp) if version == "1.6" else session_2(cp))
                await mqtt.wait_for(
                    lambda: any(b["event"] == "ended" for b in mqtt.json("/transaction"))
                )
            await mqtt.wait_for(lambda: mqtt.json("/state")[-1]["connected"] is False)

        txs = mqtt.json("/transaction")
        assert [t["event"] for t in txs] == ["started", "updated", "ended"]
        assert all(t["seq"] > 0 and t["ts"].endswith("Z") for t in txs)
        ended = txs[-1]
        assert ended["energy_wh"] == 3000 and ended["meter_start_wh"] == 1000
        assert ended["evse"] == 1 and ended["stop_reason"] == "Local"
        assert ended["id_tag"].casefold() == "tag-1"
        assert txs[1]["energy_wh"] == 2500
        tele = next(t for t in mqtt.json("/telemetry") if t["energy_wh"] == 3500)
        assert tele["evse"] == 1 and tele["power_w"] == 7200 and tele["seq"] > 0
        states = mqtt.json("/state")
        during = next(s for s in states if s["transactions"])
        assert during["connected"] is True and during["ocpp_version"] == version
        assert during["vendor"] == "Acme" and during["transactions"][0]["evse"] == 1
        assert during["evses"]["1"]["status"] in ("Charging", "Occupied")

        # A control centre that connects later reads the retained state.
        async with Collector(mosquitto.host, mosquitto.port, f"{base}/state") as late:
            await late.wait_for(lambda: bool(late.messages))
            retained = late.json("/state")[-1]
            assert retained["connected"] is False and retained["vendor"] == "Acme"


async def command(
    mosquitto: PrivateMosquitto, gateway: Gateway, cid: str, name: str, body: dict[str, Any]
) -> dict[str, Any]:
    topic = f"{gateway.topics.base}/charger/{cid}/cmd/{name}"
    async with Collector(mosquitto.host, mosquitto.port, f"{topic}/result") as results:
        async with aiomqtt.Client(
            mosquitto.host, mosquitto.port, identifier=f"cc-{uuid.uuid4().hex[:6]}"
        ) as client:
            await client.publish(topic, json.dumps(body), qos=1)
        await results.wait_for(lambda: bool(results.messages))
        return results.json("/result")[0]


async def test_commands_over_mqtt(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    config = make_config(mosquitto, ocpp=OCPP)
    async with running_gateway(config) as gateway:
        await wait_mqtt(gateway)
        offline = await command(mosquitto, gateway, "CP-16", "reset", {"id": "r0", "type": "soft"})
        assert offline["status"] == "rejected" and offline["reason"] == "charger is offline"
        port = ocpp_port(gateway)
        async with (
            charger(port, "CP-201", "2.0.1") as cp201,
            charger(port, "CP-21", "2.1") as cp21,
            charger(port, "CP-16") as cp16,
        ):
            await cp201.boot()
            limit = await command(
                mosquitto, gateway, "CP-201", "limit", {"id": "r1", "power_w": 2300, "evse": 1}
            )
            assert limit["status"] == "accepted" and limit["id"] == "r1"
            assert (
                limit["detail"]["rate_unit"] == "A" and limit["detail"]["applied_current_a"] == 10
            )
            profile = await cp201.wait_call("SetChargingProfile")
            assert (
                profile["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0][
                    "limit"
                ]
                == 10
            )

            cp201.answers["RequestStartTransaction"] = {
                "status": "Rejected",
                "statusInfo": {"reasonCode": "Occupied"},
            }
            refused = await command(
                mosquitto, gateway, "CP-201", "start", {"id_tag": "TAG-1", "evse": 1}
            )
            assert refused["status"] == "rejected"
            assert refused["detail"]["charger_status"] == "Rejected"
            assert refused["detail"]["status_info"] == {"reasonCode": "Occupied"}

            cp16.silent.add("Reset")
            slow = await command(mosquitto, gateway, "CP-16", "reset", {"type": "hard"})
            assert slow["status"] == "timeout"

            v2g = await command(
                mosquitto, gateway, "CP-21", "limit", {"power_w": -20000, "evse": 1, "ttl_s": 60}
            )
            assert v2g["status"] == "accepted" and v2g["detail"]["clamped"] is True
            assert v2g["detail"]["applied_power_w"] == -11000
            await cp21.wait_call("SetChargingProfile")
            no_v2g = await command(mosquitto, gateway, "CP-16", "limit", {"power_w": -1000})
            assert no_v2g["status"] == "rejected" and "OCPP 2.1" in no_v2g["reason"]


async def test_a_transaction_ending_while_mqtt_is_down_is_published_later(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    config = make_config(mosquitto, ocpp=OCPP)
    async with running_gateway(config) as gateway:
        await wait_mqtt(gateway)
        topic = f"{gateway.topics.base}/charger/CP-16/transaction"
        async with (
            Collector(mosquitto.host, mosquitto.port, topic) as mqtt,
            charger(ocpp_port(gateway), "CP-16") as cp,
        ):
            tx = (
                await cp.raw(
                    "StartTransaction",
                    {"connectorId": 1, "idTag": "TAG-1", "meterStart": 0, "timestamp": TS},
                )
            )["transactionId"]
            await mqtt.wait_for(lambda: len(mqtt.messages) == 1)
            await mosquitto.stop()
            stop = await cp.raw(
                "StopTransaction", {"transactionId": tx, "meterStop": 9000, "timestamp": TS}
            )
            assert stop == {}  # answered at once: the record is durable in the outbox
            assert gateway.outbox.depth >= 1
            await mosquitto.start()
            await mqtt.wait_for(lambda: len(mqtt.messages) >= 2, timeout=20)
        ended = mqtt.json("/transaction")[-1]
        assert ended["event"] == "ended" and ended["energy_wh"] == 9000


async def test_losing_mqtt_withdraws_a_limit_with_ttl(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    config = make_config(mosquitto, ocpp=OCPP)
    async with running_gateway(config) as gateway:
        await wait_mqtt(gateway)
        async with charger(ocpp_port(gateway), "CP-201", "2.0.1") as cp:
            result = await command(
                mosquitto, gateway, "CP-201", "limit", {"power_w": 2000, "ttl_s": 600}
            )
            assert result["status"] == "accepted"
            await cp.wait_call("SetChargingProfile")
            await mosquitto.stop()  # the control centre can no longer renew the limit
            assert await cp.wait_call("ClearChargingProfile") == {"chargingProfileId": 4200}
            await mosquitto.start()
            base = f"{gateway.topics.base}/charger/CP-201/state"
            async with Collector(mosquitto.host, mosquitto.port, base) as late:
                await late.wait_for(
                    lambda: any(s.get("reason") == "mqtt_lost" for s in late.json("/state"))
                )
                assert late.json("/state")[-1]["limits"] == []
