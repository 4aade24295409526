"""Property tests at the page's HTTP boundary: whatever a client sends to the login form or
the command endpoint gets a clear 4xx (or a command result), never a 500, and the listener
keeps serving. Requests go over real sockets to a running gateway."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.app import Gateway
from gateway.foundation.config import Config
from tests.conftest import running_gateway
from tests.web.conftest import PASSWORDS, USERS, client, csrf_of, login

T = TypeVar("T")
EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture
async def gateway(make_config: Callable[..., Config]) -> AsyncIterator[Gateway]:
    config = make_config(None, http={"ui": True, "users": USERS})
    async with running_gateway(config) as running:
        yield running


def base_url(gateway: Gateway) -> str:
    assert gateway.http is not None
    return f"{gateway.http.url}/"


def blocking(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on the test's loop from hypothesis' worker thread."""
    return asyncio.run_coroutine_threadsafe(coro, loop).result(60)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)  # fmt: skip


async def post(
    session: aiohttp.ClientSession, url: str, body: bytes, content_type: str, **headers: str
) -> int:
    async with session.post(
        url,
        data=body,
        headers={"Content-Type": content_type, **headers},
        allow_redirects=False,
    ) as response:
        await response.read()
        return response.status


async def test_any_login_form_gets_a_4xx_or_a_redirect(gateway: Gateway) -> None:
    loop = asyncio.get_running_loop()
    url = base_url(gateway)
    origin = url.rstrip("/")

    @EXAMPLES
    @given(
        fields=st.dictionaries(st.sampled_from(["user", "password", "csrf", "x"]), st.text(max_size=300)),
        raw=st.none() | st.binary(max_size=2000),
    )  # fmt: skip
    def check(fields: dict[str, str], raw: bytes | None) -> None:
        async def go() -> int:
            body = (
                raw
                if raw is not None
                else urlencode(fields, errors="surrogatepass").encode("utf-8", "surrogatepass")
            )
            async with aiohttp.ClientSession() as session:
                return await post(
                    session, f"{url}login", body, "application/x-www-form-urlencoded", Origin=origin
                )

        status = blocking(loop, go())
        assert 400 <= status < 500, status

    await asyncio.to_thread(check)
    async with aiohttp.ClientSession() as session, session.get(f"{url}healthz") as health:
        assert health.status == 200


async def test_any_command_body_gets_a_result_or_a_4xx(gateway: Gateway) -> None:
    loop = asyncio.get_running_loop()
    url = base_url(gateway)
    session = client()
    assert (await login(session, url, "alice", PASSWORDS["alice"])).status == 303
    csrf = await csrf_of(session, url)
    headers = {"Origin": url.rstrip("/"), "X-CSRF-Token": csrf}

    @EXAMPLES
    @given(
        body=json_values.map(lambda v: json.dumps(v).encode())
        | st.fixed_dictionaries(
            {"target": st.sampled_from(["charger", "storage", "site", "meter", "x" * 200, ""]),
             "device": st.text(max_size=140), "command": st.text(max_size=30), "args": json_values}
        ).map(lambda v: json.dumps(v).encode())
        | st.binary(max_size=3000),
    )  # fmt: skip
    def check(body: bytes) -> None:
        status = blocking(
            loop, post(session, f"{url}api/command", body, "application/json", **headers)
        )
        assert status == 200 or 400 <= status < 500, status

    try:
        await asyncio.to_thread(check)
        async with session.get(f"{url}api/snapshot") as snap:
            assert snap.status == 200
    finally:
        await session.close()


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("api/command", b"x" * (70 * 1024), 413),
        ("api/command", b"[" * 50_000, 400),
        ("api/command", b'{"target": "charger", "device": "CP-1", "command": "reset", "args": ' + b"[" * 30_000 + b"}", 400),
        ("login", b"user=" + b"a" * 60_000 + b"&password=x", 400),
        ("login", b"p" * (5 * 1024 * 1024), 413),
    ],
)  # fmt: skip
async def test_huge_and_deep_bodies_get_a_clear_4xx(
    gateway: Gateway, path: str, body: bytes, expected: int
) -> None:
    url = base_url(gateway)
    session = client()
    try:
        assert (await login(session, url, "alice", PASSWORDS["alice"])).status == 303
        headers = {"Origin": url.rstrip("/"), "X-CSRF-Token": await csrf_of(session, url)}
        content_type = (
            "application/json" if path.startswith("api") else "application/x-www-form-urlencoded"
        )
        try:
            status = await post(session, f"{url}{path}", body, content_type, **headers)
        except aiohttp.ClientError:
            status = 413  # the server may close before reading all of a multi-megabyte body
        assert status == expected
        async with session.get(f"{url}api/snapshot") as snap:
            assert snap.status == 200
    finally:
        await session.close()
