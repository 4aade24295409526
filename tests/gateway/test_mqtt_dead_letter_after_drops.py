"""A row the broker drops the connection on, against a real Mosquitto 2.0 (MQTT 3.1.1).

Mosquitto closes the socket of a client that sends a packet over its `max_packet_size`, and a
3.1.1 client is told neither the maximum (no CONNACK properties) nor why it was dropped (no
DISCONNECT from a broker). The gateway sends that row alone after the first drop, buries it
after `MAX_ATTEMPTS` drops, and delivers everything behind it, in order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from gateway.foundation.model import ChargerId, ChargerTelemetry, TransactionEvent
from gateway.mqtt.delivery import MAX_ATTEMPTS
from gateway.topics import Topics
from tests.conftest import Collector, private_mosquitto, running_gateway
from tests.ops.helpers import health, metric, wait_until
from tests.seq_check import deduped

pytestmark = pytest.mark.timeout(120)

CP = ChargerId("CP-1")


@pytest.fixture
async def small_packets() -> AsyncIterator[PrivateMosquitto]:
    """A Mosquitto that drops any client sending a packet over 8 KiB."""
    async with private_mosquitto("max_packet_size 8192") as broker:
        yield broker


@asynccontextmanager
async def gateway_311(
    broker: PrivateMosquitto, make_config: Callable[..., Config]
) -> AsyncIterator[tuple[Config, Collector, Gateway]]:
    """A gateway on MQTT 3.1.1 and a 3.1.1 subscriber to its whole tree, both connected."""
    config = make_config(broker, mqtt={"protocol": "3.1.1", "max_record_bytes": 1024 * 1024})
    every = f"{Topics(config.mqtt.topic_prefix, config.site.id).base}/#"
    async with (
        Collector(broker.host, broker.port, every, mqtt5=False) as mqtt,
        running_gateway(config) as gateway,
    ):
        await connected(gateway)
        assert gateway.link is not None and gateway.link.broker is not None
        assert gateway.link.broker.protocol == "3.1.1"
        yield config, mqtt, gateway


async def connected(gateway: Gateway) -> None:
    await wait_until(lambda: gateway.link is not None and gateway.link.connected, 20)


def transaction_ids(mqtt: Collector) -> list[str]:
    return [body["transaction_id"] for t, body in deduped(mqtt) if t.endswith("/transaction")]


def dead_letters(config: Config) -> list[tuple[int, str, str]]:
    with sqlite3.connect(config.state_dir / "outbox.sqlite") as db:
        return db.execute("SELECT seq, topic, reason FROM dead_letter ORDER BY seq").fetchall()


async def test_a_row_the_broker_drops_us_on_is_buried_and_the_rest_delivered_in_order(
    small_packets: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    async with gateway_311(small_packets, make_config) as (config, mqtt, gateway):
        assert gateway.link is not None
        gateway.recorder.record(ChargerTelemetry(CP, 1, power_w=1.0))
        # Nothing to cut in a transaction: 20 kB that the broker will not take.
        gateway.recorder.record(TransactionEvent(CP, "started", "tx-1", 1, id_tag="t" * 20_000))
        for i in range(2, 50):
            gateway.recorder.record(ChargerTelemetry(CP, 1, power_w=float(i)))
        await mqtt.wait_for(lambda: len({m.payload for m in mqtt.on("/telemetry")}) == 49, 60)
        await wait_until(lambda: gateway.outbox.dead_letters == 1 and not gateway.outbox.depth, 30)
        _, doc = await health(gateway)
        assert doc["outbox"]["dead_letters"] == 1
        assert await metric(gateway, "pilebridge_outbox_dead_letters_total") == 1
        connects = gateway.link.connects
        last_seq = gateway.outbox.last_seq
    (buried,) = dead_letters(config)
    seq, topic, reason = buried
    assert topic.endswith("/charger/CP-1/transaction")
    assert reason == (
        f"the broker dropped the connection on it {MAX_ATTEMPTS} times "
        "(MQTT 3.1.1: no reason given)"
    )
    assert MAX_ATTEMPTS < connects <= MAX_ATTEMPTS + 2  # then it stayed up
    records = deduped(mqtt)  # each seq once, and in seq order (asserted there)
    seqs = [body["seq"] for _, body in records]
    assert seqs == [s for s in range(1, seqs[-1] + 1) if s != seq]  # the one gap is the buried
    assert seqs[-1] >= last_seq
    power = [body["power_w"] for t, body in records if t.endswith("/telemetry")]
    assert power == [float(i) for i in range(1, 50)]
    assert mqtt.on("/transaction") == []


async def test_broker_restarts_on_311_bury_nothing(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    """A plain connection loss is forgiven once the row goes through: nothing is buried."""
    async with gateway_311(mosquitto, make_config) as (config, mqtt, gateway):
        for n in range(2 * MAX_ATTEMPTS):
            await connected(gateway)
            gateway.recorder.record(TransactionEvent(CP, "started", f"tx-{n}", 1, id_tag="t"))
            await mosquitto.restart()  # the record may be in flight, or not yet sent
            await mqtt.wait_for(lambda: f"tx-{n}" in transaction_ids(mqtt), 30)  # noqa: B023
        await wait_until(lambda: not gateway.outbox.depth, 30)
        assert gateway.outbox.dead_letters == 0
    assert transaction_ids(mqtt) == [f"tx-{n}" for n in range(2 * MAX_ATTEMPTS)]
    assert dead_letters(config) == []
