"""The HTTP listener: `GET /healthz` (JSON), `GET /metrics` (Prometheus), the web page."""

from __future__ import annotations

import json

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.foundation.metrics import REGISTRY
from gateway.http.health import HealthReporter, HealthSources
from gateway.http.server import HttpServer, plain_error

__all__ = ["HealthReporter", "HealthSources", "HttpServer", "add_ops_routes", "plain_error"]


def add_ops_routes(app: web.Application, reporter: HealthReporter) -> None:
    """`/healthz` and `/metrics` (GET and HEAD), the same documents as ever."""

    async def healthz(_: web.Request) -> web.Response:
        status, document = reporter.document()
        body = json.dumps(document, separators=(",", ":"), default=str).encode()
        return web.Response(status=status, body=body, content_type="application/json")

    async def metrics(_: web.Request) -> web.Response:
        # CONTENT_TYPE_LATEST carries version and charset parameters: set the header whole.
        return web.Response(
            body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
