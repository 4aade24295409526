"""Which broker next, in which MQTT version, after how long: plain values, no sockets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.foundation.config import MqttConfig, split_broker_address
from gateway.mqtt.broker_rotation import BrokerRotation

THREE = [("n1", 1883), ("n2", 1883), ("n3", 1884)]


def rotation(brokers: list[tuple[str, int]] = THREE, protocol: str = "auto") -> BrokerRotation:
    return BrokerRotation(brokers, protocol, reconnect_min_s=0.5, reconnect_max_s=30)


def test_a_drop_moves_on_to_the_next_broker_at_once() -> None:
    r = rotation()
    r.connected()
    assert r.dropped(now=100.0) == 0.0
    assert r.current().host == "n2"


def test_a_broker_that_keeps_dropping_us_is_not_retried_in_a_hot_loop() -> None:
    r = rotation()
    r.connected()
    r.dropped(now=100.0)
    r.connected()
    assert r.dropped(now=101.0) > 0


def test_one_broker_waits_after_a_drop_as_before() -> None:
    r = rotation([("only", 1883)])
    r.connected()
    assert r.dropped(now=100.0) > 0
    assert r.current().host == "only"


def test_failures_wait_only_after_a_whole_round() -> None:
    r = rotation()
    assert [r.failed() > 0 for _ in range(3)] == [False, False, True]
    assert r.current().host == "n1"


def test_auto_falls_back_to_311_per_broker_and_remembers_it() -> None:
    r = rotation()
    assert r.current().mqtt5
    assert r.refused_protocol()
    assert not r.current().mqtt5
    assert not r.refused_protocol()  # already 3.1.1: a refusal now is a real failure
    r.failed()
    assert r.current().mqtt5  # the next broker is asked in MQTT 5 first
    r.failed()
    r.failed()
    assert r.current().host == "n1" and not r.current().mqtt5


@pytest.mark.parametrize(("protocol", "mqtt5"), [("5", True), ("3.1.1", False)])
def test_a_fixed_protocol_never_changes(protocol: str, mqtt5: bool) -> None:
    r = rotation(protocol=protocol)
    assert not r.refused_protocol()
    assert r.current().mqtt5 is mqtt5


@given(
    st.lists(
        st.sampled_from(["connected", "dropped", "failed", "refused"]), min_size=1, max_size=60
    ),
    st.integers(min_value=1, max_value=5),
)
def test_any_sequence_of_outcomes_stays_within_the_list_and_the_bounds(
    outcomes: list[str], n: int
) -> None:
    brokers = [(f"n{i}", 1883) for i in range(n)]
    r = rotation(brokers)
    now = 0.0
    for outcome in outcomes:
        now += 1.0
        delay = 0.0
        if outcome == "connected":
            r.connected()
        elif outcome == "dropped":
            delay = r.dropped(now)
        elif outcome == "failed":
            delay = r.failed()
        else:
            r.refused_protocol()
        assert 0.0 <= delay <= 30.0 * 1.5
        assert (r.current().host, r.current().port) in brokers


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a:1", ("a", 1)), ("[::1]:8883", ("::1", 8883)), ("broker.example.net:1883", None)],
)
def test_broker_addresses(text: str, expected: tuple[str, int] | None) -> None:
    assert split_broker_address(text) == (expected or ("broker.example.net", 1883))


@pytest.mark.parametrize(
    "text", ["a", "a:", ":1883", "a:0", "a:70000", "[::1:1883", "a b:1", "a\x01:1", "a:1x"]
)
def test_bad_broker_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"host|port|bracket"):
        split_broker_address(text)


@given(st.text(max_size=80))
def test_any_text_is_an_address_or_a_clear_error(text: str) -> None:
    try:
        host, port = split_broker_address(text)
    except ValueError as exc:
        assert repr(text) in str(exc)
    else:
        assert host and 1 <= port <= 65535


def test_hosts_replace_host_and_port() -> None:
    cfg = MqttConfig.model_validate({"hosts": ["n1:1883", "[::1]:1884"], "protocol": 5})
    assert cfg.brokers == [("n1", 1883), ("::1", 1884)]
    assert cfg.protocol == "5"
    assert MqttConfig.model_validate({}).brokers == [("127.0.0.1", 1883)]
    with pytest.raises(ValueError, match="either `hosts` or `host`/`port`"):
        MqttConfig.model_validate({"hosts": ["n1:1883"], "host": "n2"})
    with pytest.raises(ValueError, match="protocol"):
        MqttConfig.model_validate({"protocol": "4"})
