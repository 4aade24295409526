"""The demo site: the gateway with a generated config, plus the simulated devices."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

from gateway.app import Gateway
from gateway.config.models import Config
from gateway.logs import configure_logging

__all__ = ["DemoSite", "demo_config"]


def demo_config(*, mqtt_host: str, mqtt_port: int, state_dir: Path, ocpp_port: int = 0) -> Config:
    return Config.model_validate(
        {
            "site": {"id": "demo", "grid_import_limit_w": 60000},
            "state_dir": str(state_dir),
            "http": {"host": "127.0.0.1", "port": 0},
            "mqtt": {
                "enabled": mqtt_port > 0,
                "host": mqtt_host or "127.0.0.1",
                "port": mqtt_port or 1883,
                "topic_prefix": "pilebridge",
            },
            "ocpp": {
                "host": "127.0.0.1",
                "port": ocpp_port,
                "allow_unknown_chargers": True,
                "authorize": {"accept_all": True},
            },
            "logging": {"level": "info"},
        }
    )


class DemoSite:
    def __init__(self, *, mqtt_host: str, mqtt_port: int, chargers: int, state_dir: Path) -> None:
        self.config = demo_config(mqtt_host=mqtt_host, mqtt_port=mqtt_port, state_dir=state_dir)
        self.charger_count = chargers
        self.gateway = Gateway(self.config)

    async def run(self, *, duration_s: float | None, ui: bool) -> int:
        configure_logging("info", "console" if ui and sys.stderr.isatty() else "auto")
        print(
            f"Subscribe:  mosquitto_sub -h {self.config.mqtt.host} -p {self.config.mqtt.port} -t 'pilebridge/#' -v",
            file=sys.stderr,
        )
        await self.gateway.start()
        serve = asyncio.create_task(self.gateway.serve())
        try:
            if duration_s is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(duration_s):
                        await asyncio.shield(serve)
                self.gateway.request_stop()
            await serve
        finally:
            if not serve.done():
                self.gateway.request_stop()
                await serve
        return 0
