"""`pilebridge status`: one screen for a technician on site, read from the health endpoint.

It reads the same `/healthz` document a monitor scrapes, so what the technician sees is what
the control centre's monitoring sees. Exit codes: 0 healthy or degraded, 1 the gateway does
not answer, 2 the gateway answers but a component is down.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, TextIO

from gateway.config import ConfigError, load_config

__all__ = ["fetch_health", "health_url", "render_plain", "run_status"]

DEFAULT_CONFIG = Path("/etc/pilebridge/pilebridge.yaml")
_VALUE_FIELDS = (
    ("power_w", "W"),
    ("energy_wh", "Wh"),
    ("soc_pct", "%"),
    ("current_a", "A"),
    ("voltage_v", "V"),
    ("temperature_c", "°C"),
)


def health_url(host: str, port: int) -> str:
    """The URL to reach `http.host:http.port` from this machine (a wildcard means loopback)."""
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1" if host != "::" else "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/healthz"


def fetch_health(url: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """The health document; a 503 still carries one. Raises OSError when nobody answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            document: dict[str, Any] = json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code != 503:
            raise OSError(f"HTTP {exc.code} from {url}") from exc
        document = json.load(exc)
    except urllib.error.URLError as exc:
        raise OSError(str(exc.reason)) from exc
    return document


def _values(body: dict[str, Any] | None) -> str:
    if not body:
        return "-"
    parts = [
        f"{body[k]:g} {unit}" for k, unit in _VALUE_FIELDS if isinstance(body.get(k), int | float)
    ]
    return ", ".join(parts) or "-"


def _connection(device: dict[str, Any]) -> str:
    connected = device.get("connected")
    return "unknown" if connected is None else ("connected" if connected else "DISCONNECTED")


def _device_rows(doc: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(kind, id, connection, values, age) per device; chargers get one row per EVSE."""
    rows: list[tuple[str, str, str, str, str]] = []
    for group in ("chargers", "storage", "meters"):
        for device in doc.get("devices", {}).get(group, []):
            age = device.get("age_s")
            age_text = "-" if age is None else f"{age:.0f} s ago"
            telemetry = device.get("telemetry") or {}
            state = device.get("state") or {}
            evses = state.get("evses") or {}
            kind = device.get("kind", group)
            if kind == "charger" and (telemetry or evses):
                for evse in sorted(set(telemetry) | set(evses), key=int):
                    status = (evses.get(evse) or {}).get("status", "")
                    label = f"{device['id']} #{evse}"
                    values = _values(telemetry.get(evse))
                    rows.append(
                        (kind, label, f"{_connection(device)} {status}".strip(), values, age_text)
                    )
            else:
                rows.append(
                    (kind, device["id"], _connection(device), _values(telemetry.get("0")), age_text)
                )
    return rows


def _summary(doc: dict[str, Any]) -> list[str]:
    mqtt = doc.get("mqtt", {})
    outbox = doc.get("outbox", {})
    broker = (
        "connected"
        if mqtt.get("connected")
        else ("disabled" if not mqtt.get("enabled") else "NOT CONNECTED")
    )
    down = [c["name"] for c in doc.get("components", []) if not c.get("running")]
    return [
        f"PileBridge {doc.get('version', '?')}  site {doc.get('site_id', '?')}  "
        f"status {str(doc.get('status', '?')).upper()}  up {doc.get('uptime_s', 0):.0f} s",
        f"broker {mqtt.get('host')}:{mqtt.get('port')} {broker}  "
        f"outbox depth {outbox.get('depth', '?')} dropped {outbox.get('dropped', '?')} "
        f"dead letters {outbox.get('dead_letters', 0)} last seq {outbox.get('last_seq', '?')}"
        + (f"  OUTBOX FAILING: {outbox['failing']}" if outbox.get("failing") else ""),
        f"components: {len(doc.get('components', [])) - len(down)} running"
        + (f", DOWN: {', '.join(down)}" if down else ""),
    ]


def render_plain(doc: dict[str, Any]) -> str:
    lines = _summary(doc)
    rows = _device_rows(doc)
    if rows:
        header = ("kind", "device", "connection", "last values", "updated")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
        lines.append("")
        for row in [header, *rows]:
            lines.append(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
    else:
        lines.append("no devices configured")
    lines += [f"! {problem}" for problem in doc.get("problems", [])]
    lines += [f"warning: {warning}" for warning in doc.get("warnings", [])]
    return "\n".join(lines)


def _render_rich(doc: dict[str, Any], out: TextIO) -> None:
    # rich (a dependency, not a layer) is loaded only when a terminal shows the table.
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out)
    for line in _summary(doc):
        console.print(line, highlight=False)
    table = Table("kind", "device", "connection", "last values", "updated")
    for row in _device_rows(doc):
        style = "red" if "DISCONNECTED" in row[2] else None
        table.add_row(*row, style=style)
    console.print(table)
    for problem in doc.get("problems", []):
        console.print(f"[yellow]! {problem}[/yellow]", highlight=False)
    for warning in doc.get("warnings", []):
        console.print(f"warning: {warning}", highlight=False, markup=False)


def run_status(
    config_path: Path | None, *, url: str | None, as_json: bool, out: TextIO = sys.stdout
) -> int:
    if url is None:
        path = config_path or DEFAULT_CONFIG
        try:
            config = load_config(path)
        except ConfigError as exc:
            print(f"pilebridge: cannot read {path}: {exc.problems[0]}", file=sys.stderr)
            return 1
        if not config.http.enabled:
            print(
                f"pilebridge: http.enabled is false in {path}; no health endpoint to read",
                file=sys.stderr,
            )
            return 1
        url = health_url(config.http.host, config.http.port)
    try:
        doc = fetch_health(url)
    except OSError as exc:
        print(f"pilebridge: gateway not running? no answer from {url}: {exc}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(doc, indent=2), file=out)
    elif out.isatty():
        _render_rich(doc, out)
    else:
        print(render_plain(doc), file=out)
    return 2 if doc.get("status") == "down" else 0
