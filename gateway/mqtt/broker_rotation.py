"""Which broker to connect to next, with which MQTT version, and how long to wait first.

A site names one broker or the nodes of a cluster (`mqtt.hosts`). The gateway stays on a
broker while it serves; when the connection drops it moves on to the next node at once (the
cluster keeps its session and retained messages), and only after every node failed in a row
does it wait, with the shared backoff. With `protocol: auto` a broker that refuses MQTT 5
(CONNACK "Unsupported Protocol Version", MQTT 5 §3.2.2.2 code 0x84; 3.1.1 §3.2.2.3 code 1) is
asked again at once in 3.1.1, and remembered as a 3.1.1 broker from then on.

Pure: no sockets, no clock. The link feeds it outcomes and sleeps the delays it returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gateway.foundation.backoff import backoff_delays

__all__ = ["PROTOCOL_REFUSED_CODES", "BrokerChoice", "BrokerRotation"]

PROTOCOL_REFUSED_CODES = frozenset({1, 0x84})
"""CONNACK codes that mean "not this protocol version" (3.1.1 return code, MQTT 5 reason)."""


@dataclass(frozen=True)
class BrokerChoice:
    host: str
    port: int
    mqtt5: bool

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def protocol(self) -> str:
        return "5" if self.mqtt5 else "3.1.1"


class BrokerRotation:
    def __init__(
        self,
        brokers: list[tuple[str, int]],
        protocol: str,
        *,
        reconnect_min_s: float,
        reconnect_max_s: float,
    ) -> None:
        if not brokers:
            raise ValueError("no broker to connect to")
        self._brokers = brokers
        self._protocol = protocol
        self._min_s, self._max_s = reconnect_min_s, reconnect_max_s
        self._index = 0
        self._fell_back: set[int] = set()
        self._failed_in_a_row = 0
        self._last_drop: float | None = None
        self._delays: Iterator[float] = backoff_delays(self._min_s, self._max_s)

    def current(self) -> BrokerChoice:
        host, port = self._brokers[self._index]
        mqtt5 = self._protocol == "5" or (
            self._protocol == "auto" and self._index not in self._fell_back
        )
        return BrokerChoice(host, port, mqtt5)

    def connected(self) -> None:
        """The current broker accepted us: the next failure starts a fresh round."""
        self._failed_in_a_row = 0
        self._delays = backoff_delays(self._min_s, self._max_s)

    def dropped(self, now: float) -> float:
        """An established connection ended (`now`: monotonic seconds): the delay first.

        With other brokers to go to, the first drop moves on at once; a broker that keeps
        accepting and dropping us is not retried in a hot loop: a drop within
        `reconnect_max_s` of the previous one waits like a failure.
        """
        self._advance()
        recent = self._last_drop is not None and now - self._last_drop < self._max_s
        self._last_drop = now
        if len(self._brokers) > 1 and not recent:
            return 0.0
        return next(self._delays)

    @property
    def fallbacks(self) -> int:
        """How many brokers have been moved to 3.1.1 so far."""
        return len(self._fell_back)

    def refused_protocol(self) -> bool:
        """The current broker refused MQTT 5. True: ask it again at once in 3.1.1."""
        if self._protocol != "auto" or self._index in self._fell_back:
            return False
        self._fell_back.add(self._index)
        return True

    def failed(self) -> float:
        """Connecting to the current broker failed: the delay before trying the next one.

        No delay while there are brokers left in this round; after a whole round of failures,
        the next step of the backoff.
        """
        self._failed_in_a_row += 1
        self._advance()
        if self._failed_in_a_row % len(self._brokers) == 0:
            return next(self._delays)
        return 0.0

    def _advance(self) -> None:
        self._index = (self._index + 1) % len(self._brokers)
