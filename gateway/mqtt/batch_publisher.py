"""Hand a batch of outbox rows to paho and wait for all their PUBACKs on one future.

aiomqtt's `publish()` awaits each PUBACK with its own Event, context manager and wait_for,
and a batch needs a task per row to overlap them: about 30 µs of CPU per message on top of
paho's own ~35 µs (bench/outbox_throughput.py). The outbox publishes in batches, so it talks
to the paho client under aiomqtt directly and keeps aiomqtt's own PUBACK bookkeeping intact
by chaining its `on_publish` callback. A batch is registered in paho's session and written
in one socket write as it is handed over, and its successful PUBACKs are settled in runs,
without paho's per-message objects (paho_shortcuts.py `send_batch`); a batch that path does
not take (no room in the in-flight window, a row paho must judge) goes through paho's own
`publish()`, one row at a time. The rest of the connection (connect, subscribe, receive,
disconnect) stays with aiomqtt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import aiomqtt
import paho.mqtt.client as paho

from gateway.mqtt.paho_shortcuts import PubackShortcut, coalesce, read_ahead, send_batch
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
        PubackShortcut(self._paho, self._waiting, self._on_success)
        read_ahead(self._paho)

    async def publish(self, rows: Sequence[OutboxRow]) -> list[BaseException | None]:
        """Publish rows in order at QoS 1; per row None (acknowledged) or the error."""
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        self._outcomes = [None] * len(rows)
        self._waiting.clear()
        mids = send_batch(self._paho, rows)
        if mids is None:
            self._publish_each(rows)
        else:
            self._waiting.update(zip(mids, range(len(rows)), strict=True))
        if self._waiting:
            await self._done
        self._done = None
        return self._outcomes

    def _publish_each(self, rows: Sequence[OutboxRow]) -> None:
        """The reference path: paho's own `publish()` per row (queued past the window)."""
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

    def _on_puback(self, mid: int, reason: Any) -> None:
        index = self._waiting.pop(mid, None)
        if index is None:
            if self._sending:
                self._early[mid] = reason
            return  # one of aiomqtt's own publishes (availability, results)
        self._outcomes[index] = _failure(reason)
        if not self._waiting and self._done is not None and not self._done.done():
            self._done.set_result(None)

    def _on_success(self, mids: list[int]) -> None:
        """Successful PUBACKs settled by the short cut (their outcomes stay None)."""
        waiting = self._waiting
        for mid in mids:
            waiting.pop(mid, None)
        if not waiting and self._done is not None and not self._done.done():
            self._done.set_result(None)


def _failure(reason: Any) -> BaseException | None:
    if getattr(reason, "is_failure", False):
        return PublishRefused(str(reason))
    return None
