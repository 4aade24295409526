"""Prometheus metrics of the gateway, in one registry per process.

Drivers update these as they work; the HTTP endpoint renders them. `MESSAGES`, counted for
every charger message, is a `LoopCounter`: a plain add, where prometheus_client's own counter
takes a lock and checks its arguments on every increment. Label values are bounded sets (protocol, direction, status,
device ids from the config) so the series count stays small on an edge box.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

__all__ = [
    "COMMAND_RESULTS",
    "CONTROLLER_IMPORT_W",
    "CONTROLLER_LIMIT_W",
    "MESSAGES",
    "MODBUS_POLL_ERRORS",
    "MODBUS_POLL_SECONDS",
    "MQTT_CONNECTED",
    "OCPP_CHARGERS_CONNECTED",
    "OUTBOX_BYTES",
    "OUTBOX_DEAD_LETTERS",
    "OUTBOX_DELIVERED",
    "OUTBOX_DEPTH",
    "OUTBOX_DROPPED",
    "OUTBOX_FAILING",
    "OUTBOX_REFUSED",
    "OUTBOX_TRUNCATED",
    "OUTBOX_WITHDRAWN",
    "PUBLISH_REFUSED",
    "REGISTRY",
    "LoopCounter",
]

REGISTRY = CollectorRegistry(auto_describe=True)


class Tally:
    """One labelled series of a `LoopCounter`."""

    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.created = time.time()

    def inc(self, amount: float = 1) -> None:
        self.value += amount


class LoopCounter(Collector):
    """A labelled counter that only the event loop's thread increments: no lock, read when
    the metrics are scraped (rendered as prometheus_client renders a Counter)."""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = list(labelnames)
        self._tallies: dict[tuple[str, ...], Tally] = {}
        registry.register(self)

    def labels(self, *values: str) -> Tally:
        if len(values) != len(self._labelnames):
            raise ValueError(f"{self._name}: labels {self._labelnames}, got {values}")
        return self._tallies.setdefault(values, Tally())

    def describe(self) -> list[CounterMetricFamily]:
        return [CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)]

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)
        for values, tally in list(self._tallies.items()):
            family.add_metric(values, tally.value, created=tally.created)
        yield family


MESSAGES = LoopCounter(
    "pilebridge_messages_total",
    "Protocol messages handled, by protocol (ocpp, modbus, mqtt) and direction (in, out).",
    ["protocol", "direction"],
    registry=REGISTRY,
)
OCPP_CHARGERS_CONNECTED = Gauge(
    "pilebridge_ocpp_chargers_connected", "Chargers with an open OCPP session.", registry=REGISTRY
)
COMMAND_RESULTS = Counter(
    "pilebridge_command_results_total",
    "Command results by target kind, command and status.",
    ["target", "command", "status"],
    registry=REGISTRY,
)
OUTBOX_DEPTH = Gauge(
    "pilebridge_outbox_depth", "Records waiting for the broker.", registry=REGISTRY
)
OUTBOX_DROPPED = Gauge(
    "pilebridge_outbox_dropped_total",
    "Telemetry records dropped from a full outbox (durable across restarts).",
    registry=REGISTRY,
)
OUTBOX_BYTES = Gauge(
    "pilebridge_outbox_bytes", "Payload bytes waiting for the broker.", registry=REGISTRY
)
OUTBOX_DEAD_LETTERS = Gauge(
    "pilebridge_outbox_dead_letters_total",
    "Records the broker cannot take (too large, refused repeatedly), moved to the outbox's "
    "dead_letter table (durable across restarts).",
    registry=REGISTRY,
)
OUTBOX_REFUSED = Gauge(
    "pilebridge_outbox_refused_total",
    "Records refused at the outbox (not strict JSON, bad topic, too large, full) since start.",
    registry=REGISTRY,
)
OUTBOX_TRUNCATED = Gauge(
    "pilebridge_outbox_truncated_total",
    "Events published with their data cut to max_record_bytes since start.",
    registry=REGISTRY,
)
OUTBOX_WITHDRAWN = Gauge(
    "pilebridge_outbox_withdrawn_total",
    "Records withdrawn after durable_timeout_s of failing commits (their devices retry).",
    registry=REGISTRY,
)
OUTBOX_FAILING = Gauge(
    "pilebridge_outbox_failing",
    "1 while the outbox cannot commit to disk (full disk, I/O error).",
    registry=REGISTRY,
)
OUTBOX_DELIVERED = Counter(
    "pilebridge_outbox_delivered_total", "Records acknowledged by the broker.", registry=REGISTRY
)
PUBLISH_REFUSED = Counter(
    "pilebridge_mqtt_publish_refused_total",
    "Records the broker refused with a PUBACK failure code (e.g. ACL); logged, not retried.",
    registry=REGISTRY,
)
MQTT_CONNECTED = Gauge(
    "pilebridge_mqtt_connected", "1 while connected to the broker.", registry=REGISTRY
)
MODBUS_POLL_SECONDS = Histogram(
    "pilebridge_modbus_poll_seconds",
    "Time for one complete poll of a Modbus device.",
    ["device"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
MODBUS_POLL_ERRORS = Counter(
    "pilebridge_modbus_poll_errors_total",
    "Failed Modbus polls by device and kind (timeout, exception, connection, decode).",
    ["device", "kind"],
    registry=REGISTRY,
)
CONTROLLER_IMPORT_W = Gauge(
    "pilebridge_controller_grid_import_w",
    "Grid import the site controller last saw (W).",
    registry=REGISTRY,
)
CONTROLLER_LIMIT_W = Gauge(
    "pilebridge_controller_grid_limit_w", "Grid import limit in force (W).", registry=REGISTRY
)
GC_PAUSE_SECONDS = Histogram(
    "pilebridge_gc_pause_seconds",
    "Garbage collections by generation and how long each held the event loop.",
    ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
    registry=REGISTRY,
)
EVENT_LOOP_LAG_SECONDS = Histogram(
    "pilebridge_event_loop_lag_seconds",
    "How late the event loop woke a task that asked to run every 100 ms.",
    buckets=(0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
    registry=REGISTRY,
)
