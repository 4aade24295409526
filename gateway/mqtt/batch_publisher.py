"""Hand a batch of outbox rows to paho and wait for all their PUBACKs on one future.

aiomqtt's `publish()` awaits each PUBACK with its own Event, context manager and wait_for,
and a batch needs a task per row to overlap them: about 30 µs of CPU per message on top of
paho's own ~35 µs (bench/outbox_throughput.py). The outbox publishes in batches, so it talks
to the paho client under aiomqtt directly and keeps aiomqtt's own PUBACK bookkeeping intact
by chaining its `on_publish` callback. A batch leaves in one socket write, and its successful
PUBACKs are settled without paho's per-packet objects (paho_shortcuts.py). The rest of the
connection (connect, subscribe, receive, disconnect) stays with aiomqtt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import aiomqtt
import paho.mqtt.client as paho

from gateway.mqtt.paho_shortcuts import PubackShortcut, coalesce, read_ahead
from gateway.outbox import OutboxRow

__all__ = ["BatchPublisher", "PublishRefused"]


class PublishRefused(Exception):
    """The broker answered a PUBACK with a failure reason code (MQTT 5 §3.4.2.1), e.g. an ACL."""


class BatchPublisher:
    def __init__(self, client: aiomqtt.Client) -> None:
        self._paho: paho.Client = client._client
        self._waiting: dict[int, int] = {}
        self._outcomes: list[BaseException | None] = []
        self._early: dict[int, Any] = {}
        self._done: asyncio.Future[None] | None = None
        self._sending = False
        chained: Any = self._paho.on_publish  # aiomqtt's own handler, VERSION2 signature

        def on_publish(
            client: paho.Client, userdata: Any, mid: int, reason: Any, props: Any
        ) -> None:
            self._on_puback(mid, reason)
            if chained is not None:
                chained(client, userdata, mid, reason, props)

        self._paho.on_publish = on_publish
        PubackShortcut(self._paho, self._waiting.__contains__, self._on_success)
        read_ahead(self._paho)

    async def publish(self, rows: Sequence[OutboxRow]) -> list[BaseException | None]:
        """Publish rows in order at QoS 1; per row None (acknowledged) or the error."""
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        self._outcomes = [None] * len(rows)
        self._waiting.clear()
        failed_from = len(rows)
        self._sending = True
        try:
            for index, row in enumerate(rows):
                info = self._paho.publish(row.topic, row.payload, qos=1, retain=row.retain)
                if info.rc != paho.MQTT_ERR_SUCCESS:
                    failed_from = index
                    break
                if info.mid in self._early:  # acknowledged before publish() returned
                    self._outcomes[index] = _failure(self._early.pop(info.mid))
                else:
                    self._waiting[info.mid] = index
        finally:
            self._sending = False
            self._early.clear()
            coalesce(self._paho, self._waiting)
        for index in range(failed_from, len(rows)):
            self._outcomes[index] = aiomqtt.MqttError("not sent: connection lost")
        if self._waiting:
            await self._done
        self._done = None
        return self._outcomes

    def _on_puback(self, mid: int, reason: Any) -> None:
        index = self._waiting.pop(mid, None)
        if index is None:
            if self._sending:
                self._early[mid] = reason
            return  # one of aiomqtt's own publishes (availability, results)
        self._outcomes[index] = _failure(reason)
        if not self._waiting and self._done is not None and not self._done.done():
            self._done.set_result(None)

    def _on_success(self, mid: int) -> None:
        """A successful PUBACK settled by the short cut (outcome stays None)."""
        del self._waiting[mid]
        if not self._waiting and self._done is not None and not self._done.done():
            self._done.set_result(None)


def _failure(reason: Any) -> BaseException | None:
    if getattr(reason, "is_failure", False):
        return PublishRefused(str(reason))
    return None
