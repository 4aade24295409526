"""Property tests of the command intake without a broker: whatever bytes and MQTT 5
properties arrive, parsing gives a request or a rejection (never an exception), and the result
the gateway would publish is strict JSON."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import wire
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.model import CommandRequest, CommandResult, DeviceKind
from gateway.mqtt.intake import reply_to, retained_rejection

OWN_TREE = "pilebridge/site-1"


async def _reset(request: CommandRequest, args: Any) -> CommandResult:
    return CommandResult.accepted()


def router() -> CommandRouter:
    r = CommandRouter()
    r.register(DeviceKind.CHARGER, "reset", _reset)
    r.register(DeviceKind.CHARGER, "limit", _reset)
    r.add_device(DeviceKind.CHARGER, "CP-1")
    return r


ROUTER = router()

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.sampled_from(["soft", "hard", "W", "A", "tx_default"])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.sampled_from(["id", "type", "power_w", "evse", "x"]) | st.text(), inner
        )
    ),
    max_leaves=30,
)


def _dump(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


PAYLOADS = st.one_of(
    st.binary(max_size=2000),
    JSON_VALUES.map(_dump),
    st.dictionaries(st.sampled_from(["id", "type", "evse", "power_w"]), JSON_VALUES).map(_dump),
    st.integers(1, 8000).map(lambda n: b'{"id": ' + b"9" * n + b"}"),
    st.integers(1, 8000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 8000).map(lambda n: b'{"type": ' + b"{" * n),
    st.sampled_from([b"NaN", b'{"type": Infinity}', b'{"id": -Infinity}', b"\xff", b"", b"  "]),
)
TOPICS = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.sampled_from(["cc/+/r", "cc/#", f"{OWN_TREE}/charger/CP-1/transaction", OWN_TREE, "$SYS/x"]),
    st.text(max_size=20).map(lambda t: f"{OWN_TREE}/{t}"),
)


class Props:
    def __init__(self, topic: Any, correlation: Any) -> None:
        if topic is not None:
            self.ResponseTopic = topic
        if correlation is not None:
            self.CorrelationData = correlation


def _strict(data: bytes) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} in a published payload")

    return json.loads(data, parse_constant=refuse)


MANY = settings(max_examples=settings().max_examples * 8)
"""Pure and cheap: eight times the profile's cases (200 in CI, 16,000 with the long one)."""


@MANY
@given(
    name=st.sampled_from(["reset", "limit", "nope"]) | st.text(max_size=20),
    device=st.sampled_from(["CP-1", "CP-2"]) | st.text(max_size=20),
    payload=PAYLOADS,
    topic=TOPICS,
    correlation=st.none() | st.binary(max_size=300) | st.integers() | st.text(max_size=5),
    retain=st.booleans(),
)
def test_any_command_message_gets_a_request_or_a_rejection_and_a_strict_json_result(
    name: str, device: str, payload: bytes, topic: Any, correlation: Any, retain: bool
) -> None:
    request, args, rejection = ROUTER.parse("charger", device, name, payload)
    assert (args is None) != (rejection is None)
    if rejection is not None:
        assert rejection.status.value == "rejected" and rejection.reason
        assert len(rejection.reason) <= 2000
    reply = reply_to(Props(topic, correlation), OWN_TREE)
    if reply.topic is not None:
        assert wire.valid_topic_name(reply.topic) is None
        assert not reply.topic.startswith(OWN_TREE + "/") and reply.topic != OWN_TREE
        assert reply.correlation is None or isinstance(reply.correlation, bytes)
    assert (retained_rejection(retain) is not None) == retain
    result = rejection or CommandResult.accepted()
    body = {
        "id": request.request_id if request else None,
        "status": result.status.value,
        "reason": result.reason,
        "detail": dict(result.detail),
    }
    _strict(wire.dumps(body))
