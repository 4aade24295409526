"""The daemon with a damaged outbox file, and with a disk that fills up under it."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from gateway.foundation.model import ChargerId, ChargerTelemetry, TransactionEvent
from gateway.outbox import OutboxUnavailable
from tests.conftest import Collector, running_gateway
from tests.gateway.test_daemon_process import start_daemon, write_config
from tests.gateway.test_outbox_faults import fill_disk, free_disk


async def test_a_damaged_outbox_gives_one_line_and_can_be_set_aside(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    config = make_config()
    config.state_dir.mkdir(parents=True)
    damaged = config.state_dir / "outbox.sqlite"
    damaged.write_bytes(b"not a database, the tail of a power cut" * 200)
    path = write_config(config, tmp_path / "pb.yaml")

    proc = await start_daemon(path)
    _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    text = stderr.decode()
    assert proc.returncode == 4  # systemd's RestartPreventExitStatus: no crash loop
    assert "Traceback" not in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert str(damaged) in lines[0] and "--set-aside-damaged-outbox" in lines[0]

    proc = await start_daemon_with(path, "--set-aside-damaged-outbox")
    assert proc.stderr is not None
    async with asyncio.timeout(30):
        while b"gateway_started" not in (await proc.stderr.readline()):
            pass
    proc.send_signal(signal.SIGTERM)
    await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    kept = list(config.state_dir.glob("outbox.sqlite.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"not a database")


async def start_daemon_with(path: Path, *extra: str) -> asyncio.subprocess.Process:
    import os
    import sys

    from tests.gateway.test_daemon_process import ROOT

    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "run", "-c", str(path), *extra,
        cwd=ROOT, env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def transaction(n: int) -> TransactionEvent:
    return TransactionEvent(ChargerId("cp-1"), "updated", f"tx-{n}", 1, energy_wh=float(n))


async def test_a_full_disk_keeps_the_gateway_serving_and_reports_it(
    mosquitto: PrivateMosquitto,
    make_config: Callable[..., Config],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify_path))
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    config = make_config(
        mosquitto, mqtt={"outbox": {"durable_timeout_s": 0.5, "restart_after_s": 1.0}}
    )
    topic = f"{config.mqtt.topic_prefix}/{config.site.id}/charger/+/+"
    async with (
        Collector(mosquitto.host, mosquitto.port, topic) as collector,
        running_gateway(config) as gateway,
    ):
        rec = gateway.recorder
        await rec.record(transaction(0))
        await fill_disk(gateway.outbox)
        for i in range(50):
            rec.record(ChargerTelemetry(ChargerId("cp-1"), 1, power_w=float(i), energy_wh=1e6))
        # A handler waiting for durability gets an error it can answer the charger with.
        with pytest.raises(OutboxUnavailable):
            await asyncio.wait_for(rec.record(transaction(1)), 10)
        status, doc = gateway.health.document()
        assert status == 503 and doc["status"] == "down"
        assert doc["outbox"]["failing"] and "full" in doc["outbox"]["failing"]
        assert any("outbox cannot store records" in p for p in doc["problems"])
        # After restart_after_s of failure the watchdog is no longer fed: systemd restarts us.
        await wait_until(lambda: gateway.supervisor.watchdog_starved is not None)
        drain(notify)
        await asyncio.sleep(0.6)  # three watchdog intervals
        assert b"WATCHDOG=1" not in drain(notify)

        await free_disk(gateway.outbox)
        await wait_until(lambda: gateway.outbox.failing is None)
        await rec.record(transaction(2))
        await wait_until(lambda: gateway.supervisor.watchdog_starved is None)
        assert gateway.health.document()[0] == 200
        await wait_until(lambda: len(collector.on("/transaction")) == 2)
    notify.close()
    telemetry = collector.json("/telemetry")
    assert [t["power_w"] for t in telemetry] == [float(i) for i in range(50)]
    seqs = [json.loads(m.payload)["seq"] for m in collector.messages]  # type: ignore[arg-type]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gap, nothing withdrawn shows
    assert [t["transaction_id"] for t in collector.json("/transaction")] == ["tx-0", "tx-2"]


def drain(sock: socket.socket) -> bytes:
    out = b""
    while True:
        try:
            out += sock.recv(4096)
        except BlockingIOError:
            return out


async def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_a_notify_socket_nobody_reads_does_not_block_the_gateway(tmp_path: Path) -> None:
    """systemd's queue full (or a stuck reader): the notification is lost, the loop runs on."""
    from gateway.sdnotify import SystemdNotifier

    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as unread:
        unread.bind(str(path))
        notifier = SystemdNotifier({"NOTIFY_SOCKET": str(path)})
        results = [notifier.watchdog() for _ in range(1000)]  # far beyond the queue length
    assert results[0] is True and results[-1] is False
