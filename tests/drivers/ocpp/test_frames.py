"""Frame parsing and CALLERROR codes (OCPP 1.6 §4.2.3, 2.0.1 Part 4 §4.2.3/§4.3), plain strings."""

from __future__ import annotations

import json

import pytest

from drivers.ocpp.frames import (
    BadFrame,
    CallFrame,
    ErrorFrame,
    ResultFrame,
    SendFrame,
    error_code,
    parse_frame,
)


def reply_of(raw: str | bytes, version: str) -> list[object] | None:
    frame = parse_frame(raw, version)
    assert isinstance(frame, BadFrame)
    return json.loads(frame.reply) if frame.reply else None


@pytest.mark.parametrize(
    ("raw", "version", "uid", "code"),
    [
        ("not json", "1.6", "-1", "FormationViolation"),
        ("not json", "2.0.1", "-1", "RpcFrameworkError"),
        ("not json", "2.1", "-1", "RpcFrameworkError"),
        ('[2, "abc", "Heartbeat", {', "1.6", "abc", "FormationViolation"),  # id salvaged
        ('[2, "abc", "Heartbeat", {', "2.0.1", "abc", "RpcFrameworkError"),
        (b"\xff\xfe", "2.0.1", "-1", "RpcFrameworkError"),
        ('{"a": 1}', "2.0.1", "-1", "RpcFrameworkError"),
        ("[]", "1.6", "-1", "FormationViolation"),
        ('[2, 17, "Heartbeat", {}]', "2.0.1", "-1", "RpcFrameworkError"),
        ('[2, "' + "x" * 37 + '", "Heartbeat", {}]', "2.0.1", "-1", "RpcFrameworkError"),
        ('[2, "m1", "Heartbeat"]', "2.0.1", "m1", "RpcFrameworkError"),
        ('[2, "m1", 5, {}]', "1.6", "m1", "FormationViolation"),
        ('[2, "m1", "Heartbeat", []]', "1.6", "m1", "FormationViolation"),
        ('[2, "m1", "Heartbeat", "x"]', "2.0.1", "m1", "FormatViolation"),
        ('[7, "m1", "Heartbeat", {}]', "2.0.1", "m1", "MessageTypeNotSupported"),
        ('[7, "m1", "Heartbeat", {}]', "1.6", "m1", "FormationViolation"),
        ('[6, "m1", "X", {}]', "2.0.1", "m1", "MessageTypeNotSupported"),  # SEND is 2.1 only
        ('["2", "m1", "Heartbeat", {}]', "2.1", "m1", "MessageTypeNotSupported"),
    ],
)
def test_bad_frames_get_the_right_callerror(raw: str, version: str, uid: str, code: str) -> None:
    reply = reply_of(raw, version)
    assert reply is not None
    assert reply[:3] == [4, uid, code]
    assert isinstance(reply[3], str) and reply[4] == {}


@pytest.mark.parametrize("raw", ['[3, "m1"]', "[3, 5, {}]", '[4, "m1", "X"]', "[6, 1]"])
def test_malformed_replies_are_never_answered(raw: str) -> None:
    assert reply_of(raw, "2.1") is None


def test_good_frames() -> None:
    assert parse_frame('[2,"1","Heartbeat",{}]', "1.6") == CallFrame("1", "Heartbeat", {})
    assert parse_frame('[3,"1",{"a":1}]', "1.6") == ResultFrame("1", {"a": 1})
    assert parse_frame('[4,"1","NotSupported","d",{}]', "2.0.1") == ErrorFrame(
        "1", "NotSupported", "d", {}
    )
    assert parse_frame('[5,"1","InternalError","d",{}]', "2.1") == ErrorFrame(
        "1", "InternalError", "d", {}
    )
    assert parse_frame('[6,"1","NotifyPeriodicEventStream",{}]', "2.1") == SendFrame(
        "NotifyPeriodicEventStream", {}
    )
    assert parse_frame(b'[2,"1","Heartbeat",{}]', "2.1") == CallFrame("1", "Heartbeat", {})


def test_occurrence_spelling_per_version() -> None:
    assert error_code("occurrence", "1.6") == "OccurenceConstraintViolation"
    assert error_code("occurrence", "2.0.1") == "OccurenceConstraintViolation"
    assert error_code("occurrence", "2.1") == "OccurrenceConstraintViolation"
    assert error_code("format", "1.6") == "FormationViolation"
    assert error_code("format", "2.0.1") == "FormatViolation"
