"""The validation boundary of the charger management commands and the site's `tags`: any JSON
either validates or is `rejected` with a reason, never an exception; valid payloads keep
their meaning."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.commands.schemas import COMMAND_SCHEMAS
from gateway.foundation.model import CommandResult, CommandStatus, DeviceKind

COMMANDS = [
    ("charger", "get_config"),
    ("charger", "set_config"),
    ("charger", "report"),
    ("charger", "update_firmware"),
    ("charger", "get_logs"),
    ("charger", "local_list"),
    ("charger", "clear_cache"),
    ("charger", "reserve"),
    ("charger", "cancel_reservation"),
    ("charger", "ocpp"),
    ("charger", "reset"),
    ("charger", "trigger"),
    ("charger", "availability"),
    ("site", "tags"),
]
COMMANDS = [(t, n) for t, n in COMMANDS if (DeviceKind(t), n) in COMMAND_SCHEMAS]

FIELDS = [
    "keys", "key", "value", "evse", "connector", "instance", "attribute", "location",
    "retrieve_at", "retries", "retry_interval_s", "signature", "type", "since", "until",
    "version", "update", "entries", "id_tag", "expires_at", "reservation_id", "action",
    "payload", "add", "remove", "group", "status", "message", "operative",
]  # fmt: skip

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=60),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


async def _ok(request: Any, args: Any) -> CommandResult:
    return CommandResult.accepted()


def _router() -> CommandRouter:
    router = CommandRouter()
    for target, name in COMMANDS:
        router.register(DeviceKind(target), name, _ok)
    router.add_device(DeviceKind.CHARGER, "CP-1")
    return router


ROUTER = _router()


@pytest.mark.parametrize(("target", "name"), COMMANDS)
@given(body=st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6))
def test_any_payload_validates_or_is_rejected_with_a_reason(
    target: str, name: str, body: dict[str, Any]
) -> None:
    raw = json.dumps(body).encode()  # NaN/Infinity included: Python's json reads them back
    request, args, rejection = ROUTER.parse(target, "CP-1", name, raw)
    if rejection is not None:
        assert rejection.status is CommandStatus.REJECTED and rejection.reason
    else:
        assert args is not None and request is not None


@given(st.binary(max_size=300))
def test_any_bytes_are_answered(raw: bytes) -> None:
    for target, name in COMMANDS:
        _, _, rejection = ROUTER.parse(target, "CP-1", name, raw)
        assert rejection is None or rejection.reason


@pytest.mark.parametrize(
    ("name", "body", "problem"),
    [
        ("set_config", {"key": "A", "value": float("nan")}, "value"),
        ("set_config", {"key": "A/B", "value": 1, "connector": 1}, "connector needs evse"),
        ("set_config", {"key": "A\nB", "value": 1}, "key"),
        ("get_config", {"keys": []}, "keys"),
        ("update_firmware", {"location": "not a url"}, "location"),
        (
            "update_firmware",
            {"location": "http://x/fw.bin", "retrieve_at": "2024-01-01T00:00:00"},
            "timezone",
        ),
        ("get_logs", {"since": "2024-02-01T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, "since"),
        ("local_list", {"version": 1, "entries": [{"id_tag": "A", "status": None}]}, "full list"),
        ("reserve", {"id_tag": "A"}, "expires_at"),
        ("ocpp", {"action": "Reset; rm", "payload": {}}, "action"),
        ("trigger", {"message": "StatusNotification", "connector": 1}, "connector needs evse"),
    ],
)
def test_clear_rejections(name: str, body: dict[str, Any], problem: str) -> None:
    if (DeviceKind.CHARGER, name) not in COMMAND_SCHEMAS:
        pytest.skip(f"{name} is not a command yet")
    _, _, rejection = ROUTER.parse("charger", "CP-1", name, json.dumps(body).encode())
    assert rejection is not None and problem in str(rejection.reason), rejection


def test_values_keep_their_meaning() -> None:
    _, args, _ = ROUTER.parse(
        "charger", "CP-1", "set_config", json.dumps({"key": "K", "value": True}).encode()
    )
    assert args.text == "true"
    _, args, _ = ROUTER.parse(
        "charger", "CP-1", "set_config", json.dumps({"key": "K", "value": 10.0}).encode()
    )
    assert args.text == "10"
