"""The example control centre: seq checks with plain values; discovery and commands against a
real gateway and a real Mosquitto."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from simulators.control_centre import ControlCentre, SeqTracker
from tests.conftest import running_gateway


def test_repeats_are_dropped_and_reordering_is_not_a_gap() -> None:
    t = SeqTracker(settle_s=10)
    assert [t.seen(s, 0.0) for s in (1, 2, 4, 3, 3, 2, 5)] == [
        True, True, True, True, False, False, True,
    ]  # fmt: skip
    assert (t.repeats, t.out_of_order, t.contiguous) == (2, 1, 5)
    assert t.expire(100.0) == []


def test_a_seq_still_missing_after_the_settle_time_is_a_gap() -> None:
    t = SeqTracker(settle_s=10)
    for seq in (1, 2, 5):
        t.seen(seq, 0.0)
    assert t.expire(5.0) == []
    assert t.expire(10.0) == [3, 4]
    assert t.contiguous == 5
    assert not t.seen(3, 11.0)  # arrived after it was declared lost: not counted twice


def test_a_consumer_that_joins_late_starts_at_its_first_record() -> None:
    t = SeqTracker()
    assert t.seen(1000, 0.0)
    assert t.contiguous == 1000 and t.expire(1e9) == []


@given(st.permutations(list(range(1, 60))), st.lists(st.integers(1, 59), max_size=30))
def test_any_order_with_any_repeats_has_no_gap(order: list[int], repeats: list[int]) -> None:
    t = SeqTracker(settle_s=1)
    new = [s for s in [1, *order, *repeats] if t.seen(s, 0.0)]
    assert sorted(new) == list(range(1, 60))
    assert t.expire(2.0) == [] and t.contiguous == 59 and not t.ahead


@given(st.sets(st.integers(2, 200), max_size=120))
def test_every_missing_seq_is_reported_once(dropped: set[int]) -> None:
    t = SeqTracker(settle_s=1)
    for seq in range(1, 202):
        if seq not in dropped:
            t.seen(seq, 0.0)
    assert t.expire(1.0) == sorted(dropped)
    assert t.expire(5.0) == []


async def test_finds_the_site_and_commands_it(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config]
) -> None:
    config = make_config(mosquitto)
    centre = ControlCentre([(mosquitto.host, mosquitto.port)], config.mqtt.topic_prefix)
    async with running_gateway(config), centre:
        assert await centre.wait_for_sites(1, 30) == [config.site.id]
        outcome = await centre.command(config.site.id, "site", None, "grid_limit", {"import_w": -5})
        assert outcome.result["status"] == "rejected"  # a negative import limit
        assert outcome.round_trip_s > 0
