"""The CALLRESULT written without the encoder is the encoder's own text."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ocpp.session import result_frame

ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
ANSWERS = st.one_of(
    st.just({}),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5) | st.integers(), max_size=3),
)


@settings(max_examples=200)
@given(uid=st.text(max_size=36), response=ANSWERS)
def test_same_text_as_the_encoder(uid: str, response: dict[str, Any]) -> None:
    assert result_frame(uid, response) == ENCODE([3, uid, response])


def test_ids_that_need_escaping() -> None:
    for uid in ('a"b', "a\\b", "\n", "\u2028", "é", "\ud800"):
        assert result_frame(uid, {}) == ENCODE([3, uid, {}])
