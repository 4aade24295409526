"""The fast reading of a frame gives what the reference strict reading gives, value and
refusal alike, for every kind of frame a charger (or a broken firmware) sends."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from drivers.ocpp.strict_json import FrameLimits, loads_reference, loads_strict
from tests.drivers.ocpp.frame_strategies import VERSIONS, frames

LIMITS = FrameLimits(max_elements=200, max_depth=8)


def typed(value: Any) -> str:
    """1 and 1.0 compare equal in Python; their repr does not."""
    return repr(value)


def outcome(read: Any, text: str) -> tuple[str, str]:
    try:
        return "value", typed(read(text, LIMITS))
    except ValueError as exc:
        return type(exc).__name__, str(getattr(exc, "reason", "")) + "|" + str(
            getattr(exc, "kind", "")
        )


@given(st.sampled_from(VERSIONS).flatmap(frames))
def test_frames_read_as_the_reference_reads_them(frame: tuple[str, str | None]) -> None:
    text, _ = frame
    assert outcome(loads_strict, text) == outcome(loads_reference, text)


numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**65), max_value=2**65),
    st.floats(allow_nan=False, allow_infinity=False),
)


@given(st.lists(numbers, max_size=5), st.sampled_from(["", "1", "12", "-"]))
def test_numbers_of_every_size_read_as_the_reference_reads_them(
    values: list[Any], prefix: str
) -> None:
    text = json.dumps(values).replace("[", f"[{prefix}1," if prefix else "[", 1)
    assert outcome(loads_strict, text) == outcome(loads_reference, text)


def test_what_the_fast_reader_refuses_is_explained_by_the_reference() -> None:
    for text in ("[1, NaN]", "[1e999]", "[" * 40 + "]" * 40, "[1,", "9" * 25):
        assert outcome(loads_strict, text) == outcome(loads_reference, text)
        assert outcome(loads_strict, text)[0] != "value"
    assert loads_strict('["a\\ud800"]', LIMITS) == ["a\ufffd"]  # made valid, as before
    assert loads_strict('["\\ud83d\\ude00"]', LIMITS) == ["\U0001f600"]
