"""`LoopCounter` renders as prometheus_client's Counter does, series by label values."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from gateway.foundation.metrics import LoopCounter


def _lines(registry: CollectorRegistry) -> list[str]:
    return [
        line.split(" ")[0] if "_created" in line else line
        for line in generate_latest(registry).decode().splitlines()
    ]


def test_renders_as_a_prometheus_counter() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    tallies = LoopCounter("x_messages_total", "Messages.", ["protocol", "direction"], ours)
    counter = Counter("x_messages_total", "Messages.", ["protocol", "direction"], registry=theirs)
    for labels, amount in ((("ocpp", "in"), 1), (("ocpp", "in"), 2.5), (("mqtt", "out"), 7)):
        tallies.labels(*labels).inc(amount)
        counter.labels(*labels).inc(amount)
    assert _lines(ours) == _lines(theirs)
    assert ours.get_sample_value("x_messages_total", {"protocol": "ocpp", "direction": "in"}) == 3.5


def test_the_wrong_number_of_labels_is_refused() -> None:
    tallies = LoopCounter("y_total", "Y.", ["a", "b"], CollectorRegistry())
    with pytest.raises(ValueError, match="labels"):
        tallies.labels("only-one")
