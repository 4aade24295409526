"""MQTT over TLS with a username and password, and the ACL example in config/, against a real
Mosquitto configured by the test (certificates from trustme)."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import trustme

from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from gateway.foundation.model import CommandRequest, CommandResult, DeviceKind
from tests.conftest import running_gateway

ROOT = Path(__file__).resolve().parents[2]
ACL_EXAMPLE = ROOT / "config" / "mosquitto-acl.example"
USERS = {
    "pilebridge-lingang-01": "gw-secret-password-0123",
    "cc-lingang-01": "cc-secret-password-4567",
    "cc-other-site": "other-secret-password-89",
}


def write_users(directory: Path) -> Path:
    path = directory / "passwords"
    path.write_text("")
    for user, password in USERS.items():
        subprocess.run(["mosquitto_passwd", "-b", str(path), user, password], check=True)
    path.chmod(0o644)
    return path


@pytest.fixture
async def secured_broker() -> AsyncIterator[tuple[PrivateMosquitto, Path]]:
    """Mosquitto with TLS only, no anonymous clients, the users above and the example ACL."""
    ca = trustme.CA()
    broker = PrivateMosquitto(acl_rules=ACL_EXAMPLE.read_text(), anonymous=False)
    server = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_file = broker.dir / "server.pem", broker.dir / "server.key", broker.dir / "ca.pem"
    server.cert_chain_pems[0].write_to_path(str(cert))
    server.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    for path in (cert, key, ca_file):
        path.chmod(0o644)
    broker.listener_options = [f"certfile {cert}", f"keyfile {key}"]
    broker.extra_config = [f"password_file {write_users(broker.dir)}"]
    await broker.start()
    try:
        yield broker, ca_file
    finally:
        await broker.stop()
        broker.cleanup()


def tls_client(broker: PrivateMosquitto, ca_file: Path, user: str, password: str) -> aiomqtt.Client:
    return aiomqtt.Client(
        broker.host,
        broker.port,
        username=user,
        password=password,
        identifier=f"{user}-{uuid.uuid4().hex[:6]}",
        protocol=aiomqtt.ProtocolVersion.V5,
        tls_context=ssl.create_default_context(cafile=str(ca_file)),
    )


class Charger:
    def __init__(self) -> None:
        self.executed: list[str | None] = []

    async def reset(self, request: CommandRequest, args: Any) -> CommandResult:
        self.executed.append(request.request_id)
        return CommandResult.accepted()


def site_config(
    make_config: Callable[..., Config], broker: PrivateMosquitto, ca_file: Path, **mqtt: Any
) -> Config:
    settings = {
        "topic_prefix": "pilebridge",
        "username": "pilebridge-lingang-01",
        "password": USERS["pilebridge-lingang-01"],
        "tls": {"ca": str(ca_file)},
        **mqtt,
    }
    return make_config(broker, site={"id": "lingang-01"}, mqtt=settings)


async def connected(gateway: Gateway) -> None:
    async with asyncio.timeout(20):
        while not (gateway.link and gateway.link.connected):
            await asyncio.sleep(0.02)


async def test_gateway_over_tls_with_password_and_the_acl_confines_the_control_centre(
    secured_broker: tuple[PrivateMosquitto, Path], make_config: Callable[..., Config]
) -> None:
    broker, ca_file = secured_broker
    charger = Charger()

    def setup(gateway: Gateway) -> None:
        gateway.router.register(DeviceKind.CHARGER, "reset", charger.reset)
        gateway.router.add_device(DeviceKind.CHARGER, "CP-1")

    config = site_config(make_config, broker, ca_file)
    base = "pilebridge/lingang-01"
    async with (
        running_gateway(config, setup) as gateway,
        tls_client(broker, ca_file, "cc-lingang-01", USERS["cc-lingang-01"]) as cc,
        tls_client(broker, ca_file, "cc-other-site", USERS["cc-other-site"]) as other,
    ):
        await connected(gateway)
        await cc.subscribe(f"{base}/#", qos=1)
        # The site's own control centre: its command runs and it reads the result.
        await cc.publish(f"{base}/charger/CP-1/cmd/reset", b'{"id": "ok", "type": "soft"}', qos=1)
        result = await next_json(cc, "/result")
        assert result["id"] == "ok" and result["status"] == "accepted"
        # What the ACL forbids never reaches the gateway (Mosquitto answers PUBACK 0x87):
        # another site's centre sending a command, the centre forging a billing record or a
        # result, the centre writing into another tree.
        await other.publish(
            f"{base}/charger/CP-1/cmd/reset", b'{"id": "other", "type": "soft"}', qos=1
        )
        forged = b'{"seq": 1, "event": "ended", "transaction_id": "x", "evse": 1}'
        await cc.publish(f"{base}/charger/CP-1/transaction", forged, qos=1)
        await cc.publish(f"{base}/charger/CP-1/cmd/reset/result", b'{"id": "x"}', qos=1)
        # A command after them: once its result is in, anything earlier would have arrived.
        await cc.publish(f"{base}/charger/CP-1/cmd/reset", b'{"id": "last", "type": "soft"}', qos=1)
        seen: list[str] = []
        async with asyncio.timeout(20):
            async for message in cc.messages:
                seen.append(str(message.topic))
                result = str(message.topic).endswith("/result")
                if result and json.loads(message.payload)["id"] == "last":  # type: ignore[arg-type]
                    break
    assert charger.executed == ["ok", "last"]
    assert not any(t.endswith("/transaction") for t in seen)
    assert gateway.link is not None and gateway.link.connects == 1


async def next_json(client: aiomqtt.Client, suffix: str) -> dict[str, Any]:
    async with asyncio.timeout(20):
        async for message in client.messages:
            if str(message.topic).endswith(suffix):
                return json.loads(message.payload)  # type: ignore[arg-type,no-any-return]
    raise AssertionError("unreachable")


async def test_a_wrong_password_or_an_untrusted_certificate_never_connects(
    secured_broker: tuple[PrivateMosquitto, Path],
    make_config: Callable[..., Config],
    tmp_path: Path,
) -> None:
    broker, ca_file = secured_broker
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    for config in (
        site_config(make_config, broker, ca_file, password="wrong-password-0000000"),
        site_config(make_config, broker, ca_file, tls={"ca": str(other_ca)}),
    ):
        async with running_gateway(config) as gateway:
            await asyncio.sleep(1.0)
            assert gateway.link is not None and not gateway.link.connected
            assert gateway.link.connects == 0
