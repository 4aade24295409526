"""What the link checks on a command message before the router reads its payload (pure).

A command arrives with MQTT-level parts the router never sees: the retain flag and the MQTT 5
Response Topic and Correlation Data. Each can be hostile: a retained command would run again
at every reconnect; a Response Topic with a wildcard cannot be published to; one inside the
gateway's own tree (`P/charger/CP-1/transaction`) would let anyone allowed to send commands
write records a control centre trusts. These checks are plain functions so they are tested,
and fuzzed, without a broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway import wire

__all__ = ["RETAINED_REASON", "ReplyTo", "reply_to", "retained_rejection"]

RETAINED_REASON = "retained commands are not executed"


@dataclass(frozen=True, slots=True)
class ReplyTo:
    """Where the result goes besides `<command topic>/result`, and why not if it does not."""

    topic: str | None
    correlation: bytes | None = None
    refused: str | None = None
    """Why the Response Topic is not used; the command is then rejected if `invalid`."""
    invalid: bool = False


def retained_rejection(retain: bool) -> str | None:
    """A command delivered with the retain flag is answered, never executed."""
    return RETAINED_REASON if retain else None


def reply_to(properties: Any, own_tree: str) -> ReplyTo:
    """Read the Response Topic and Correlation Data of a command's PUBLISH properties.

    An invalid Response Topic (wildcards, control characters, not a string) makes the command
    `rejected`; a valid one inside `own_tree` (`{prefix}/{site}`) or a `$` broker topic is
    simply not used: the result still goes to `<command topic>/result`.
    """
    topic = getattr(properties, "ResponseTopic", None) if properties is not None else None
    if topic is None or topic == "":
        return ReplyTo(None)
    if not isinstance(topic, str):
        return ReplyTo(None, refused="response topic is not a string", invalid=True)
    problem = wire.valid_topic_name(topic)
    if problem is not None:
        return ReplyTo(None, refused=f"response topic is not valid: {problem}", invalid=True)
    if topic == own_tree or topic.startswith(own_tree + "/"):
        return ReplyTo(None, refused="response topic inside the gateway's own tree is not used")
    if topic.startswith("$"):
        return ReplyTo(None, refused="response topic in the broker's $ tree is not used")
    correlation = getattr(properties, "CorrelationData", None)
    if isinstance(correlation, bytearray | memoryview):
        correlation = bytes(correlation)
    if not isinstance(correlation, bytes) or len(correlation) > 65535:
        correlation = None
    return ReplyTo(topic, correlation)
