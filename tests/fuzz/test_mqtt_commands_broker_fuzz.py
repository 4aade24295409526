"""Hypothesis through a real Mosquitto and a running gateway: generated command payloads and
MQTT 5 properties, each answered, the intake serving the next one (fewer cases than the pure
intake fuzz: each is a broker round trip)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.fuzz.test_mqtt_intake_fuzz import PAYLOADS
from tests.gateway.test_mqtt_hostile import command, site

__all__ = ["site"]

RESPONSE_TOPICS = (
    st.none()
    | st.sampled_from(["cc/+/r", "cc/#", "cc/replies"])
    | st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
    )
)


@settings(
    max_examples=max(10, settings().max_examples // 10),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(
    payload=PAYLOADS.filter(lambda p: len(p) < 256 * 1024),
    response_topic=RESPONSE_TOPICS,
    correlation=st.none() | st.binary(max_size=64),
    retain=st.booleans(),
)
async def test_generated_commands_through_mosquitto_are_all_answered(
    site: Any, payload: bytes, response_topic: str | None, correlation: bytes | None, retain: bool
) -> None:
    props = None
    if response_topic is not None:
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.ResponseTopic = response_topic
        if correlation is not None:
            props.CorrelationData = correlation
    result = await command(site, payload, props, retain=retain)
    assert result["status"] in ("accepted", "rejected")
    if retain:
        assert result["status"] == "rejected"
    nxt = await command(site, b'{"type": "soft"}')
    assert nxt["status"] == "accepted"
    json.dumps(result, allow_nan=False)
