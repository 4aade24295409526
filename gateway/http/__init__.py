"""Health and metrics over HTTP: `GET /healthz` (JSON) and `GET /metrics` (Prometheus)."""

from __future__ import annotations

import json

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.http.health import HealthReporter
from gateway.http.server import HttpServer, Response, Route
from gateway.metrics import REGISTRY

__all__ = ["HealthReporter", "HttpServer", "Response", "ops_routes"]


def ops_routes(reporter: HealthReporter) -> dict[str, Route]:
    def healthz() -> Response:
        status, document = reporter.document()
        body = json.dumps(document, separators=(",", ":"), default=str).encode()
        return Response(status, "application/json", body)

    def metrics() -> Response:
        return Response(200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY))

    return {"/healthz": healthz, "/metrics": metrics}
