"""The MQTT topic tree (`P = {topic_prefix}/{site_id}`); the one place topic strings are built."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from gateway.foundation.model.ids import DeviceKind

__all__ = ["Topics", "decode_id", "encode_id"]

# '/', '+' and '#' cannot stand inside one topic level; '%' is escaped so decoding is exact.
_UNSAFE = "/+#%"
_DEVICE_TOPICS_CAP = 50_000
"""Device topics kept built (a few per device); past this many the cache starts over."""


def encode_id(device_id: str) -> str:
    """A device id as one topic level. Ids with `/`, `+`, `#` or `%` are percent-encoded."""
    if not any(c in device_id for c in _UNSAFE):
        return device_id
    return quote(device_id, safe="".join(chr(c) for c in range(32, 127) if chr(c) not in _UNSAFE))


def decode_id(level: str) -> str:
    return unquote(level) if "%" in level else level


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str
    site_id: str
    _built: dict[tuple[str, str, str], str] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    """Device topics already built: every record asks for one of the same few per device."""

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.site_id}"

    @property
    def availability(self) -> str:
        return f"{self.base}/gateway/availability"

    @property
    def info(self) -> str:
        return f"{self.base}/gateway/info"

    def device(self, kind: DeviceKind, device_id: str, leaf: str) -> str:
        """`P/{kind}/{id}/{leaf}`; for the site, `P/site/{leaf}`."""
        key = (kind, device_id, leaf)
        topic = self._built.get(key)
        if topic is None:
            topic = self._device(kind, device_id, leaf)
            if len(self._built) >= _DEVICE_TOPICS_CAP:
                self._built.clear()
            self._built[key] = topic
        return topic

    def _device(self, kind: DeviceKind, device_id: str, leaf: str) -> str:
        if kind is DeviceKind.SITE:
            return f"{self.base}/site/{leaf}"
        return f"{self.base}/{kind.value}/{encode_id(device_id)}/{leaf}"

    @property
    def command_filters(self) -> tuple[str, str]:
        """Subscriptions for commands: device commands and site commands."""
        return (f"{self.base}/+/+/cmd/+", f"{self.base}/site/cmd/+")

    def parse_command(self, topic: str) -> tuple[str, str, str] | None:
        """`(kind, device_id, name)` for a command topic, or None if it is not one."""
        head = self.base + "/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head) :].split("/")
        if len(parts) == 3 and parts[0] == "site" and parts[1] == "cmd":
            return ("site", self.site_id, parts[2])
        if len(parts) == 4 and parts[2] == "cmd":
            return (parts[0], decode_id(parts[1]), parts[3])
        return None

    @staticmethod
    def result_topic(command_topic: str) -> str:
        return f"{command_topic}/result"
