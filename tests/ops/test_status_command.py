"""`pilebridge status` as a technician runs it: a real process reading a running gateway."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from gateway.status import health_url, render_plain
from tests.ops.helpers import running_gateway, wait_until
from tests.ops.test_health_endpoint import feed_site

ROOT = Path(__file__).resolve().parents[2]


def write_config(config: Config, path: Path, **http: Any) -> Path:
    raw = json.loads(config.model_dump_json())
    raw["http"].update(http)
    path.write_text(yaml.safe_dump(raw))
    return path


async def status(*args: str) -> tuple[int, str, str]:
    """Run the CLI without blocking the loop the gateway runs on."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "status",
        *args,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "120"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_status_shows_devices_broker_and_outbox(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    config = make_config(
        mosquitto,
        site={"controller_interval_s": 60},
        ocpp={"enabled": False, "chargers": [{"id": "CP-1"}]},
    )
    async with running_gateway(config) as gateway:
        assert gateway.http is not None
        await wait_until(lambda: gateway.link is not None and gateway.link.connected)
        feed_site(gateway)
        await wait_until(lambda: gateway.outbox.depth == 0)
        path = write_config(config, tmp_path / "pb.yaml", host="0.0.0.0", port=gateway.http.port)

        code, out, err = await status("-c", str(path))
        assert code == 0, err
        assert "status OK" in out and "test-site" in out
        assert "outbox depth 0" in out and "connected" in out
        lines = out.splitlines()
        cp1 = next(line for line in lines if "CP-1 #1" in line)
        assert "connected Charging" in cp1 and "7200 W" in cp1 and "1234 Wh" in cp1
        assert "41 %" in cp1
        assert "55.5 %" in next(line for line in lines if "bess-1" in line)
        assert "2200 W" in next(line for line in lines if "grid-1" in line)

        code, out, _ = await status("-c", str(path), "--json")
        assert code == 0
        assert json.loads(out)["outbox"]["last_seq"] == gateway.outbox.last_seq


async def test_status_when_the_gateway_is_not_running(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    path = write_config(make_config(None), tmp_path / "pb.yaml", port=free_port)
    code, out, err = await status("-c", str(path))
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert f"127.0.0.1:{free_port}" in err and "not running" in err


async def test_status_with_a_missing_config_is_one_line_and_exit_1(tmp_path: Path) -> None:
    code, _, err = await status("-c", str(tmp_path / "nope.yaml"))
    assert code == 1 and len(err.strip().splitlines()) == 1 and "nope.yaml" in err


def test_health_url_uses_loopback_for_wildcards() -> None:
    assert health_url("0.0.0.0", 8080) == "http://127.0.0.1:8080/healthz"
    assert health_url("::", 8080) == "http://[::1]:8080/healthz"
    assert health_url("192.0.2.5", 81) == "http://192.0.2.5:81/healthz"


def test_plain_rendering_marks_disconnected_devices_and_down_components() -> None:
    doc = {
        "status": "down",
        "version": "0.1.0",
        "site_id": "s",
        "uptime_s": 5,
        "problems": ["component mqtt is not running", "storage bess-1 is not connected"],
        "components": [{"name": "mqtt", "running": False}, {"name": "http", "running": True}],
        "mqtt": {"enabled": True, "connected": False, "host": "h", "port": 1883},
        "outbox": {"depth": 12, "dropped": 3, "last_seq": 40},
        "devices": {
            "chargers": [{"id": "CP-9", "kind": "charger", "connected": None, "telemetry": {}}],
            "storage": [
                {
                    "id": "bess-1",
                    "kind": "storage",
                    "connected": False,
                    "age_s": 61.2,
                    "telemetry": {"0": {"power_w": -5000, "soc_pct": 20}},
                }
            ],
            "meters": [],
        },
    }
    text = render_plain(doc)
    assert "status DOWN" in text and "DOWN: mqtt" in text
    assert "NOT CONNECTED" in text and "depth 12 dropped 3" in text
    bess = next(line for line in text.splitlines() if "bess-1" in line)
    assert "DISCONNECTED" in bess and "-5000 W" in bess and "61 s ago" in bess
    assert "unknown" in next(line for line in text.splitlines() if "CP-9" in line)


def test_status_shows_dead_letters_and_a_failing_outbox() -> None:
    from gateway.status import render_plain

    doc = {
        "status": "down",
        "outbox": {"depth": 3, "dropped": 0, "dead_letters": 2, "last_seq": 9,
                   "failing": "OperationalError: database or disk is full"},
        "problems": ["outbox cannot store records for 12 s: database or disk is full"],
    }  # fmt: skip
    text = render_plain(doc)
    assert "dead letters 2" in text
    assert "OUTBOX FAILING: OperationalError: database or disk is full" in text
