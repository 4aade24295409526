"""The topic check on every record (one regex scan) refuses exactly the characters MQTT and
Mosquitto refuse: C0 and C1 controls, DEL, wildcards, lone surrogates."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.wire import valid_topic_name


def by_the_rules(topic: str) -> bool:
    if not topic or "+" in topic or "#" in topic:
        return False
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in topic):
        return False
    try:
        topic.encode()
    except UnicodeEncodeError:
        return False
    return True


@given(st.text(max_size=80))
def test_any_text_gets_the_rules_verdict(topic: str) -> None:
    assert (valid_topic_name(topic) is None) == by_the_rules(topic)


@given(st.lists(st.sampled_from(["a", "/", "\x00", "\x1f", "\x7f", "\x9f", "\xa0", "é", "+"])))
def test_edges_of_the_control_ranges(chars: list[str]) -> None:
    topic = "p/" + "".join(chars)
    assert (valid_topic_name(topic) is None) == by_the_rules(topic)


@given(st.lists(st.text(max_size=12), max_size=6))
def test_a_verdict_asked_again_is_the_same(topics: list[str]) -> None:
    first = [valid_topic_name(t) for t in topics]  # good ones are remembered
    assert [valid_topic_name(t) for t in reversed(topics)] == first[::-1]
    assert [valid_topic_name(t) is None for t in topics] == [by_the_rules(t) for t in topics]
