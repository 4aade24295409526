"""`wire.dumps` writes exactly what the stdlib's strict encoder writes, and refuses the same."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway import wire

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 4, max_value=2**64 + 4)
    | st.floats()
    | st.floats(min_value=-1e-3, max_value=1e-3)
    | st.text()
    | st.sampled_from(["\ud800", "a\udfffb", "\u2028", "\x7f", "\x00"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def reference(value: Any, sort_keys: bool) -> bytes | type[BaseException]:
    try:
        return json.dumps(
            value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, sort_keys=sort_keys
        ).encode()
    except (ValueError, TypeError) as exc:
        return type(exc)


def ours(value: Any, sort_keys: bool) -> bytes | type[BaseException]:
    try:
        return wire.dumps(value, sort_keys=sort_keys)
    except (ValueError, TypeError) as exc:
        return type(exc)


@given(values, st.booleans())
def test_same_bytes_and_same_refusals_as_the_stdlib(value: Any, sort_keys: bool) -> None:
    assert ours(value, sort_keys) == reference(value, sort_keys)


def test_what_the_fast_encoder_would_write_differently_is_written_as_the_stdlib_does() -> None:
    class Tag(str):
        pass

    for value in (
        {"x": float("nan")},
        [float("inf")],
        {"small": 1.5e-05, "tiny": 2e-9},
        {"big": 2**70},
        {1: "int key"},
        {"tag": Tag("t")},
        {"text": "\ud800"},
    ):
        assert ours(value, False) == reference(value, False)
    assert ours({"b": 1, "a": 2}, True) == b'{"a":2,"b":1}'
