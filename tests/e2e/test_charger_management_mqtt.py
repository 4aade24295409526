"""Charger management as a control centre uses it: commands over a real Mosquitto to the
gateway, a simulated 2.0.1 and 1.6 charger behind it, results, events and the retained
configuration checked against the documented schemas."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiomqtt

from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from tests.conftest import Collector, running_gateway
from tests.drivers.ocpp.sims import simulated
from tests.ops.schemas import validate_message


async def test_management_commands_over_mqtt(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    files = tmp_path / "fw"
    files.mkdir()
    (files / "pile-3.0.bin").write_bytes(b"version=3.0\n")
    config = make_config(
        mosquitto,
        http={"files": str(files)},
        ocpp={
            "enabled": True,
            "host": "127.0.0.1",
            "port": 0,
            "authorize": {"sync_local_list": True},
            "chargers": [
                {"id": "CP-201", "provision": {"SampledDataCtrlr/TxUpdatedInterval": 15}},
                {"id": "CP-16"},
            ],
        },
    )
    base = f"{config.mqtt.topic_prefix}/{config.site.id}"
    async with running_gateway(config) as gateway:
        port = next(d for d in gateway.drivers if d.name == "ocpp").port  # type: ignore[attr-defined]
        assert gateway.http is not None
        async with (
            Collector(mosquitto.host, mosquitto.port, f"{base}/#") as mqtt,
            simulated(port, "2.0.1") as sim2,
            simulated(port, "1.6") as sim16,
            aiomqtt.Client(mosquitto.host, mosquitto.port) as client,
        ):

            async def command(topic: str, body: dict[str, Any]) -> dict[str, Any]:
                await client.publish(f"{base}/{topic}", json.dumps(body), qos=1)
                await mqtt.wait_for(
                    lambda: any(r.get("id") == body["id"] for r in mqtt.json(f"{topic}/result")),
                    timeout=30,
                )
                return next(r for r in mqtt.json(f"{topic}/result") if r.get("id") == body["id"])

            added = await command(
                "site/cmd/tags", {"id": "t", "add": [{"id_tag": "CARD-1", "group": "fleet"}]}
            )
            assert added["status"] == "accepted"
            await mqtt.wait_for(
                lambda: "card-1" in sim2.auth.local and "card-1" in sim16.auth.local
            )
            assert await sim2.authorize("CARD-1")

            result = await command("charger/CP-201/cmd/report", {"id": "r"})
            assert result["status"] == "accepted"
            await mqtt.wait_for(lambda: bool(mqtt.on("/charger/CP-201/config")))
            config_message = mqtt.on("/charger/CP-201/config")[-1]
            entries = json.loads(config_message.payload)["entries"]  # type: ignore[arg-type]
            interval = next(e for e in entries if e["key"] == "SampledDataCtrlr/TxUpdatedInterval")
            assert interval["value"] == "15"  # provisioned after the boot

            result = await command("charger/CP-16/cmd/get_logs", {"id": "l"})
            assert result["status"] == "accepted"
            await mqtt.wait_for(
                lambda: any(
                    e["event"] == "log_uploaded" for e in mqtt.json("/charger/CP-16/event")
                ),
                timeout=30,
            )
            result = await command(
                "charger/CP-16/cmd/update_firmware",
                {"id": "f", "location": f"{gateway.http.url}/files/pile-3.0.bin"},
            )
            assert result["status"] == "accepted"
            await mqtt.wait_for(
                lambda: any(
                    (s.get("firmware_update") or {}).get("version") == "3.0"
                    for s in mqtt.json("/charger/CP-16/state")
                ),
                timeout=30,
            )
            result = await command(
                "charger/CP-201/cmd/reserve",
                {"id": "v", "id_tag": "CARD-1", "expires_at": "2099-01-01T00:00:00Z"},
            )
            assert result["status"] == "accepted"
            bad = await command(
                "charger/CP-201/cmd/set_config", {"id": "b", "key": "Nope", "value": 1}
            )
            assert bad["status"] == "rejected" and "Component/Variable" in bad["reason"]

    events = {e["event"] for e in mqtt.json("/charger/CP-201/event")} | {
        e["event"] for e in mqtt.json("/charger/CP-16/event")
    }
    assert {"authorize", "log_uploaded", "firmware_status", "diagnostics_status"} <= events
    for message in mqtt.messages:
        assert isinstance(message.payload, bytes)
        validate_message(str(message.topic), message.payload, gateway.topics)
