"""`format_ts` (cached per second on the hot path) says exactly what datetime says."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from gateway.foundation.clock import format_ts


def reference(epoch_s: float) -> str:
    dt = datetime.fromtimestamp(epoch_s, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_matches_datetime_for_any_instant(epoch_s: float) -> None:
    assert format_ts(epoch_s) == reference(epoch_s)


@given(st.integers(min_value=0, max_value=4_102_444_800), st.sampled_from(
    [0.0, 0.0005, 0.0009995, 0.9994999, 0.9995, 0.9999995, 0.99999949, 0.9999996]))  # fmt: skip
def test_matches_datetime_at_second_and_millisecond_edges(second: int, frac: float) -> None:
    for epoch_s in (second + frac, second - frac):
        if epoch_s >= 0:
            assert format_ts(epoch_s) == reference(epoch_s)


def test_the_same_second_twice_and_back_again() -> None:
    for epoch_s in (1_767_225_600.1234, 1_767_225_600.9, 1_767_225_601.0, 1_767_225_600.5):
        assert format_ts(epoch_s) == reference(epoch_s)


def test_more_seconds_than_the_cache_holds_stay_exact() -> None:
    base = 1_767_225_600.25
    for k in range(1500):  # past the cache's bound, interleaved with an old time
        assert format_ts(base + k * 7.5) == reference(base + k * 7.5)
        assert format_ts(1_700_000_000.5) == reference(1_700_000_000.5)
