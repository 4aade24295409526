"""Shared by the ops tests: a gateway run in-process, and HTTP GETs against it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from gateway.app import Gateway
from tests.conftest import running_gateway

__all__ = ["get", "health", "metric", "request", "running_gateway", "wait_until"]


async def request(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """One raw request on its own connection (the request asks to close it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
    return int(lines[0].split(" ")[1]), headers, body


async def get(port: int, path: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of a GET on loopback."""
    raw = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    status, headers, body = await request(port, raw)
    return status, headers.get("content-type", ""), body


async def health(gateway: Gateway) -> tuple[int, dict[str, Any]]:
    assert gateway.http is not None and gateway.http.port
    status, content_type, body = await get(gateway.http.port, "/healthz")
    assert content_type == "application/json"
    return status, json.loads(body)


async def metric(gateway: Gateway, name: str, **labels: str) -> float | None:
    """One sample from /metrics, parsed with prometheus_client's own parser."""
    assert gateway.http is not None and gateway.http.port
    status, _, body = await get(gateway.http.port, "/metrics")
    assert status == 200
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


async def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)
