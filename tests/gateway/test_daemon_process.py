"""`pilebridge run` as a real process: systemd notify, graceful stop, Last Will on a crash."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from tests.conftest import Collector

ROOT = Path(__file__).resolve().parents[2]


def write_config(config: Config, path: Path) -> Path:
    raw = json.loads(config.model_dump_json())
    raw["logging"] = {"level": "info", "format": "json"}
    path.write_text(yaml.safe_dump(raw))
    return path


async def start_daemon(
    config_path: Path, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "run",
        "-c",
        str(config_path),
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_sigterm_stops_cleanly_and_publishes_offline(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    config = make_config(mosquitto)
    path = write_config(config, tmp_path / "pb.yaml")
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.setblocking(False)
    topic = f"{config.mqtt.topic_prefix}/{config.site.id}/gateway/availability"
    async with Collector(mosquitto.host, mosquitto.port, topic) as collector:
        proc = await start_daemon(
            path, {"NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "400000"}
        )
        await collector.wait_for(
            lambda: any(m.payload == b"online" for m in collector.messages), 20
        )
        loop = asyncio.get_running_loop()
        messages = {await asyncio.wait_for(loop.sock_recv(notify, 4096), 10) for _ in range(3)}
        assert any(m.startswith(b"READY=1") for m in messages)
        assert b"WATCHDOG=1" in messages  # pinged at half of WATCHDOG_USEC
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 0, stderr.decode()
        await collector.wait_for(lambda: collector.messages[-1].payload == b"offline")
    notify.close()
    events = [
        json.loads(line)["event"] for line in stderr.decode().splitlines() if line.startswith("{")
    ]
    assert (
        events[-3:] == ["gateway_stopping", "gateway_stopped", "outbox_closed"]
        or "gateway_stopped" in events
    )


async def test_sigkill_leaves_the_last_will_offline(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    config = make_config(mosquitto)
    path = write_config(config, tmp_path / "pb.yaml")
    topic = f"{config.mqtt.topic_prefix}/{config.site.id}/gateway/availability"
    async with Collector(mosquitto.host, mosquitto.port, topic) as collector:
        proc = await start_daemon(path)
        await collector.wait_for(
            lambda: any(m.payload == b"online" for m in collector.messages), 20
        )
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        await collector.wait_for(lambda: collector.messages[-1].payload == b"offline", 10)
        assert (
            collector.messages[-1].retain is False or collector.messages[-1].payload == b"offline"
        )


async def test_logs_are_json_lines_when_not_on_a_terminal(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    config = make_config(None)
    path = write_config(config, tmp_path / "pb.yaml")
    proc = await start_daemon(path)
    assert proc.stderr is not None
    # Signal only once the daemon says it runs: its handlers are installed by then, so the
    # test does not depend on how fast a loaded machine starts Python.
    head: list[bytes] = []
    while not any(b'"gateway_started"' in line for line in head):
        line = await asyncio.wait_for(proc.stderr.readline(), 60)
        assert line, "daemon exited before it started"
        head.append(line)
    proc.send_signal(signal.SIGINT)
    _, rest = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0
    stderr = b"".join(head) + rest
    lines = [json.loads(line) for line in stderr.decode().splitlines()]
    assert {"event", "level", "timestamp"} <= set(lines[0])
    assert any(line["event"] == "mqtt_disabled" for line in lines)
