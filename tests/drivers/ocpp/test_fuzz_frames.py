"""Property tests over OCPP frames of all three versions (issue: "then go after the classes").

Whatever a charger sends -- valid-looking messages built from the schemas' shapes, or broken
ones: random JSON, wrong types, huge or non-finite numbers, lone surrogates, deep nesting,
text that is no frame -- nothing crashes or hangs, every CALL is answered (CALLRESULT or a
CALLERROR that is never InternalError) under its own message id, every answer and every
record the gateway makes is strict JSON in valid UTF-8, and the session keeps serving.

The bulk runs through `Session.handle_frame` (the session without its socket: fast); a smaller
property test sends the same frames over a real websocket. Example counts come from the
hypothesis profile (`HYPOTHESIS_PROFILE=ci`, the default, or `long`; tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from websockets.asyncio.client import ClientConnection, connect

from drivers.ocpp.session import ChargerSession as Session
from drivers.ocpp.session_v2 import Session2
from drivers.ocpp.session_v16 import Session16
from gateway.foundation.model import Record
from tests.drivers.ocpp.conftest import Site, ocpp_config, running_driver
from tests.drivers.ocpp.frame_strategies import VERSIONS, frames
from tests.drivers.ocpp.hostile import SUBPROTOCOL, assert_strict_json

CHARGER = {"1.6": "CP-16", "2.0.1": "CP-201", "2.1": "CP-21"}
UNLIMITED = {"messages_per_s": 1e9, "bytes_per_s": 1e12, "burst_s": 1}
CASES: dict[str, int] = {"frame": 0, "websocket": 0, "records": 0}
"""Examples run in this process (printed at the end of the module)."""


def _strict(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in an answer")

    text.encode("utf-8")  # no lone surrogates
    return json.loads(text, parse_constant=refuse)


def check_answer(reply: str | None, uid: str | None) -> None:
    if uid is None:
        if reply is not None:
            _strict(reply)
        return
    assert reply is not None, "a CALL was not answered"
    frame = _strict(reply)
    assert frame[1] == uid, (frame, uid)
    assert frame[0] in (3, 4), frame
    if frame[0] == 4:
        assert frame[2] != "InternalError", frame


@dataclass
class Env:
    """One event loop, one driver, one session per version; reused by every example."""

    loop: asyncio.AbstractEventLoop
    site: Site
    sessions: dict[str, Session] = field(default_factory=dict)
    sockets: dict[str, ClientConnection] = field(default_factory=dict)
    checked: int = 0

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, 30))

    def check_records(self) -> None:
        records: list[Record] = self.site.records[self.checked :]
        CASES["records"] += assert_strict_json(records)
        self.checked = len(self.site.records)


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    loop = asyncio.new_event_loop()
    tmp = Path(tempfile.mkdtemp(prefix="pb-fuzz-"))
    config = ocpp_config(tmp, rate_limit=UNLIMITED, authorize={"accept_all": True})
    manager = running_driver(config)
    site = loop.run_until_complete(manager.__aenter__())
    env = Env(loop, site)
    hub = site.driver.hub
    for version in VERSIONS:
        cls = Session16 if version == "1.6" else Session2
        env.sessions[version] = cls(cast(Any, None), f"FUZZ-{version}", version, hub)
        url = f"ws://127.0.0.1:{site.port}/ocpp/{CHARGER[version]}"
        env.sockets[version] = loop.run_until_complete(
            connect(url, subprotocols=[SUBPROTOCOL[version]], max_size=None)  # type: ignore[list-item]
        )
    try:
        yield env
    finally:
        for ws in env.sockets.values():
            loop.run_until_complete(ws.close())
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()
        print(f"\nOCPP fuzz cases run: {CASES}")


async def _heartbeat_still_answered(session: Session) -> None:
    reply = await session.handle_frame('[2,"alive","Heartbeat",{}]')
    assert reply is not None and json.loads(reply)[0] == 3, reply


@pytest.mark.parametrize("version", VERSIONS)
@given(data=__import__("hypothesis").strategies.data())
def test_every_frame_is_handled_and_every_call_answered(env: Env, version: str, data: Any) -> None:
    text, uid = data.draw(frames(version))
    session = env.sessions[version]

    async def one() -> None:
        check_answer(await session.handle_frame(text), uid)
        await _heartbeat_still_answered(session)

    env.run(one())
    env.check_records()
    CASES["frame"] += 1


@pytest.mark.parametrize("version", VERSIONS)
@given(data=__import__("hypothesis").strategies.data())
def test_over_a_real_websocket_the_connection_keeps_serving(
    env: Env, version: str, data: Any
) -> None:
    text, uid = data.draw(frames(version))
    ws = env.sockets[version]

    async def one() -> None:
        await ws.send(text)
        await ws.send('[2,"alive","Heartbeat",{}]')
        answers: dict[str, Any] = {}
        while "alive" not in answers:
            frame = _strict(str(await ws.recv()))
            answers[frame[1]] = frame
        assert answers["alive"][0] == 3, answers
        if uid is not None and uid != "alive":
            assert uid in answers, (text[:200], answers)
            check_answer(json.dumps(answers[uid]), uid)

    env.run(one())
    env.check_records()
    CASES["websocket"] += 1
