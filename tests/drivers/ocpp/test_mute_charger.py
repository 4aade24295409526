"""One mute charger must not delay anyone (issue finding 7): per-charger bounded queues
(beyond: `rejected`, "queue full"), no shared pool of command slots, and `call_timeout_s`
covering the send as well, so a charger that stops reading cannot block longer."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Callable

import aiomqtt

from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from gateway.foundation.model import CommandStatus
from tests.conftest import Collector, running_gateway
from tests.drivers.ocpp.conftest import running_driver
from tests.drivers.ocpp.hostile import raw_charger
from tests.drivers.ocpp.peers import charger
from tests.drivers.ocpp.test_e2e import ocpp_port, wait_mqtt


async def test_a_full_queue_rejects_at_once_and_others_are_served(
    config_factory: Callable[..., Config],
) -> None:
    config = config_factory(call_timeout_s=60, max_queued_commands=4)
    async with (
        running_driver(config) as site,
        raw_charger(site.port, "CP-16") as mute,
        charger(site.port, "CP-201", "2.0.1"),
    ):
        await site.connected("CP-16")
        await site.connected("CP-201")
        waiting = [
            asyncio.create_task(site.command("CP-16", "reset", type="soft")) for _ in range(10)
        ]
        await mute.ws.recv()  # the first Reset reached the charger, which never answers
        full = [await t for t in asyncio.as_completed(waiting[6:])]
        assert all(r.status is CommandStatus.REJECTED for r in full)
        assert all(r.reason.startswith("queue full") for r in full)
        healthy = await site.command("CP-201", "reset", type="soft")
        assert healthy.status is CommandStatus.ACCEPTED
        # The first four (the one sent and three queued at least) still wait for the mute one.
        assert not any(t.done() for t in waiting[:4])
        for t in waiting:
            t.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)


async def test_call_timeout_covers_a_send_to_a_charger_that_stopped_reading(
    config_factory: Callable[..., Config],
) -> None:
    config = config_factory(
        call_timeout_s=2,
        rate_limit={"messages_per_s": 100_000, "bytes_per_s": 1e9, "burst_s": 1},
    )
    async with running_driver(config) as site:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", site.port))
        async with raw_charger(site.port, "CP-16", sock=sock, max_queue=1) as cp:
            await site.connected("CP-16")
            session = site.driver.hub.sessions["CP-16"]
            # A slow link (small kernel buffers on both ends) to a charger that never reads the
            # gateway's answers: the gateway's write buffer fills up and sending blocks.
            server_socket = session.ws.transport.get_extra_info("socket")
            server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            frame = json.dumps([2, "hb", "Heartbeat", {}])
            # Until the gateway's writes pause, or (without compression, whose buffers differ)
            # until a few thousand answers are stuck between the two ends: either way nothing
            # the gateway sends from now on gets read.
            for _ in range(3000):
                if session.ws.paused:
                    break
                await cp.ws.send(frame)
                await asyncio.sleep(0.001)  # pacing only: let the gateway answer each one
            result = await site.command("CP-16", "reset", type="hard")
            assert result.status is CommandStatus.TIMEOUT
            assert result.reason.startswith("no answer to Reset within 2 s"), result.reason


async def test_a_mute_charger_does_not_hold_up_commands_over_mqtt(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    ocpp = {
        "enabled": True,
        "host": "127.0.0.1",
        "port": 0,
        "chargers": [{"id": "MUTE"}, {"id": "OK"}],
        "call_timeout_s": 60,
        "max_queued_commands": 100,
    }
    config = make_config(mosquitto, ocpp=ocpp)
    async with running_gateway(config) as gateway:
        await wait_mqtt(gateway)
        port = ocpp_port(gateway)
        base = f"{gateway.topics.base}/charger"
        async with (
            raw_charger(port, "MUTE"),
            charger(port, "OK", "1.6"),
            Collector(mosquitto.host, mosquitto.port, f"{base}/+/cmd/+/result") as results,
            aiomqtt.Client(mosquitto.host, mosquitto.port, identifier=uuid.uuid4().hex) as cc,
        ):
            for n in range(128):
                await cc.publish(
                    f"{base}/MUTE/cmd/reset", json.dumps({"id": n, "type": "soft"}), qos=1
                )
            await cc.publish(
                f"{base}/OK/cmd/reset", json.dumps({"id": "ok", "type": "soft"}), qos=1
            )
            await results.wait_for(lambda: bool(results.on("/OK/cmd/reset/result")), timeout=20)
            ok = results.json("/OK/cmd/reset/result")[0]
            assert ok["status"] == "accepted", ok
            full = [r for r in results.json("/MUTE/cmd/reset/result") if r["status"] == "rejected"]
            assert full and all(r["reason"].startswith("queue full") for r in full)
