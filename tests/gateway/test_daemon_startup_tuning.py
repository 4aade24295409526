"""What `pilebridge run` does once at start-up for a large site: OCPP schemas read and compiled
before the port opens, the start-up heap frozen out of the garbage collector's reach, and the
connection bound derived from the process's open-file limit."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.foundation.config import Config
from gateway.gc_tuning import THRESHOLDS
from tests.gateway.test_daemon_process import start_daemon, write_config


async def daemon_events(config: Config, tmp_path: Path, until: str) -> list[dict[str, Any]]:
    """Run the daemon until it logs `until`, stop it with SIGTERM, return its log lines."""
    proc = await start_daemon(write_config(config, tmp_path / "pb.yaml"))
    assert proc.stderr is not None
    lines: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(60):
            while not any(e.get("event") == until for e in lines):
                raw = await proc.stderr.readline()
                assert raw, "daemon exited early"
                if raw.startswith(b"{"):
                    lines.append(json.loads(raw))
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)
    return lines


async def test_schemas_load_and_gc_freezes_before_chargers_are_served(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    config = make_config(ocpp={"enabled": True, "host": "127.0.0.1", "port": 0})
    events = await daemon_events(config, tmp_path, "gc_tuned")
    names = [e["event"] for e in events]
    schemas = next(e for e in events if e["event"] == "ocpp_schemas_loaded")
    assert schemas["schemas"] > 300  # every 1.6, 2.0.1 and 2.1 request and response
    assert names.index("ocpp_schemas_loaded") < names.index("ocpp_listening")
    tuned = next(e for e in events if e["event"] == "gc_tuned")
    assert tuned["frozen_objects"] > 10_000  # modules, config, schemas: out of every collection
    assert tuned["thresholds"] == list(THRESHOLDS)
    listening = next(e for e in events if e["event"] == "ocpp_listening")
    assert 1 <= listening["max_connections"] <= config.ocpp.max_connections


def test_every_collection_pause_is_measured() -> None:
    import gc

    from gateway.foundation.metrics import REGISTRY
    from gateway.gc_tuning import measure_gc_pauses

    def full_collections() -> float:
        value = REGISTRY.get_sample_value("pilebridge_gc_pause_seconds_count", {"generation": "2"})
        return value or 0.0

    measure_gc_pauses()
    measure_gc_pauses()  # installed once, not twice
    before = full_collections()
    gc.collect()
    assert full_collections() == before + 1


async def test_event_loop_lag_is_measured() -> None:
    import asyncio
    import time

    from gateway.foundation.metrics import REGISTRY
    from gateway.loop_lag import watch_loop_lag

    def samples() -> float:
        return REGISTRY.get_sample_value("pilebridge_event_loop_lag_seconds_count") or 0.0

    def late_ones() -> float:  # wake-ups more than 50 ms late
        within = REGISTRY.get_sample_value(
            "pilebridge_event_loop_lag_seconds_bucket", {"le": "0.05"}
        )
        return samples() - (within or 0.0)

    before, late_before = samples(), late_ones()
    watcher = asyncio.create_task(watch_loop_lag(0.01))
    await asyncio.sleep(0.02)
    time.sleep(0.2)  # a step that holds the loop
    async with asyncio.timeout(30):
        while samples() < before + 2:
            await asyncio.sleep(0.01)
    watcher.cancel()
    assert late_ones() >= late_before + 1
