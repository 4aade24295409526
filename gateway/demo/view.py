"""The demo's live terminal view: chargers, battery, grid, and the MQTT topics going out."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from typing import Any

import aiomqtt
from rich.console import Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

__all__ = ["LiveView", "TopicTap"]


class TopicTap:
    """A real subscriber on `pilebridge/#`: shows what a control centre would receive."""

    def __init__(self, host: str, port: int, prefix: str = "pilebridge/#") -> None:
        self.host, self.port, self.prefix = host, port, prefix
        self.recent: collections.deque[tuple[float, str, str]] = collections.deque(maxlen=10)
        self.count = 0

    async def run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    self.host, self.port, protocol=aiomqtt.ProtocolVersion.V5
                ) as client:
                    await client.subscribe(self.prefix)
                    async for message in client.messages:
                        self.count += 1
                        body = message.payload if isinstance(message.payload, bytes) else b""
                        self.recent.appendleft(
                            (time.time(), str(message.topic), body[:90].decode(errors="replace"))
                        )
            except aiomqtt.MqttError:
                await asyncio.sleep(1)


def _kw(watts: float | None) -> str:
    return "—" if watts is None else f"{watts / 1000:7.1f} kW"


class LiveView:
    def __init__(self, site: Any, tap: TopicTap | None, hints: list[str]) -> None:
        self._site = site
        self._tap = tap
        self._hints = hints

    def render(self) -> Group:
        snap = self._site.snapshot()
        chargers = Table(title="Chargers (OCPP)", expand=True)
        for column in ("id", "ocpp", "status", "power", "limit", "EV SoC", "session kWh"):
            chargers.add_column(column)
        for c in snap["chargers"]:
            chargers.add_row(
                c["id"],
                c["version"],
                c["status"] if c["online"] else "[red]offline[/]",
                _kw(c["power_w"]),
                _kw(c["limit_w"]),
                "—" if c["soc_pct"] is None else f"{c['soc_pct']:.0f} %",
                f"{c['energy_wh'] / 1000:.2f}",
            )
        site = Table(title="Site", expand=True)
        for column in (
            "grid import",
            "limit",
            "battery",
            "battery SoC",
            "MQTT",
            "outbox",
            "last seq",
        ):
            site.add_column(column)
        battery = snap["battery"]
        over = snap["limit_w"] is not None and snap["grid_w"] > snap["limit_w"]
        meter_gone = not snap.get("grid_meter_online", True)
        site.add_row(
            "[yellow]meter offline[/]"
            if meter_gone
            else ("[red]" if over else "") + _kw(snap["grid_w"]),
            _kw(snap["limit_w"]),
            _kw(battery["power_w"]),
            f"{battery['soc_pct']:.1f} %",
            "[green]connected[/]" if snap["mqtt_connected"] else "[yellow]waiting[/]",
            str(snap["outbox_depth"]),
            str(snap["last_seq"]),
        )
        parts: list[Any] = [chargers, site]
        if self._tap is not None:
            topics = Table(
                title=f"MQTT, as a subscriber sees it ({self._tap.count} messages)", expand=True
            )
            topics.add_column("topic", no_wrap=True)
            topics.add_column("payload", overflow="ellipsis", no_wrap=True)
            for _, topic, body in list(self._tap.recent)[:8]:
                topics.add_row(topic, body)
            parts.append(topics)
        parts.append(Panel("\n".join(self._hints), title="try", expand=True))
        return Group(*parts)

    async def run(self) -> None:
        with Live(self.render(), refresh_per_second=2, screen=False) as live:
            while True:
                await asyncio.sleep(0.5)
                with contextlib.suppress(Exception):
                    live.update(self.render())
