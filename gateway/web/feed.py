"""The page's live feed: every record the gateway makes, as the same body it sends to MQTT.

The feed listens to the recorder (so the page shows what the control centre receives, the
moment it is recorded) and keeps two things: the latest value of every retained or telemetry
topic (the snapshot a page starts from) and a short history of events and command results.

Each open page is a `Subscriber` with a bounded mailbox: values are coalesced per topic
(a page that reads slowly gets the newest value, not a backlog) and events are a bounded
queue (the oldest go first), so a stalled browser never holds memory or blocks a record.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway.foundation.clock import Clock, format_ts
from gateway.foundation.model import Record
from gateway.payloads import to_message
from gateway.topics import Topics, decode_id

__all__ = ["FeedItem", "LiveFeed", "Subscriber"]

_HISTORY = 100
_MAILBOX_EVENTS = 200


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One record as the page sees it: `charger/CP-1/state` split into kind, id and leaf."""

    kind: str
    id: str
    leaf: str
    body: dict[str, Any]
    ts: str

    @property
    def key(self) -> str:
        """Values with the same key replace each other (telemetry per EVSE, state per device)."""
        evse = self.body.get("evse") if self.leaf in ("telemetry", "transaction") else None
        return f"{self.kind}/{self.id}/{self.leaf}" + ("" if evse is None else f"#{evse}")

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "leaf": self.leaf,
            "body": self.body,
            "ts": self.ts,
        }


@dataclass(eq=False)
class Subscriber:
    """One open page: what it has not been sent yet."""

    values: dict[str, FeedItem] = field(default_factory=dict)
    events: deque[FeedItem] = field(default_factory=lambda: deque(maxlen=_MAILBOX_EVENTS))
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def take(self) -> list[FeedItem]:
        """Everything pending, values first (events may refer to them), and empty the box."""
        items = [*self.values.values(), *self.events]
        self.values.clear()
        self.events.clear()
        self.wake.clear()
        return items


class LiveFeed:
    def __init__(self, topics: Topics, clock: Clock) -> None:
        self._topics = topics
        self._clock = clock
        self._values: dict[str, FeedItem] = {}
        self._history: deque[FeedItem] = deque(maxlen=_HISTORY)
        self._subscribers: set[Subscriber] = set()

    def on_record(self, record: Record) -> None:
        """Recorder listener: runs for every record, so it only files and wakes."""
        message = to_message(record, self._topics)
        item = self._item(message.topic, message.body)
        if item is None:
            return
        if message.retain or message.droppable:
            self._values[item.key] = item
            for sub in self._subscribers:
                sub.values[item.key] = item
                sub.wake.set()
        else:
            self.publish_event(item)

    def publish_event(self, item: FeedItem) -> None:
        """An event or a command result: kept in the history and sent to every page."""
        if item.leaf == "transaction":
            self._values[item.key] = item  # the session energy of this EVSE, for new pages
        self._history.append(item)
        for sub in self._subscribers:
            sub.events.append(item)
            sub.wake.set()

    def event(self, kind: str, device_id: str, leaf: str, body: dict[str, Any]) -> FeedItem:
        item = FeedItem(kind, device_id, leaf, body, format_ts(self._clock.time()))
        self.publish_event(item)
        return item

    def snapshot(self) -> dict[str, Any]:
        return {
            "values": [item.as_json() for item in self._values.values()],
            "history": [item.as_json() for item in self._history],
        }

    def subscribe(self) -> Subscriber:
        sub = Subscriber()
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    def wake_all(self) -> None:
        """Let every open page's loop look up (the listener is closing)."""
        for sub in self._subscribers:
            sub.wake.set()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def values(self) -> Iterator[FeedItem]:
        return iter(self._values.values())

    def _item(self, topic: str, body: dict[str, Any]) -> FeedItem | None:
        head = self._topics.base + "/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head) :].split("/")
        ts = format_ts(self._clock.time())
        if parts[0] == "site":
            return FeedItem("site", self._topics.site_id, "/".join(parts[1:]), body, ts)
        if len(parts) >= 3:
            return FeedItem(parts[0], decode_id(parts[1]), "/".join(parts[2:]), body, ts)
        return None
