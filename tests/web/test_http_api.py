"""The page's HTTP side against a running gateway with real simulated devices: logins, roles,
CSRF and Origin checks, the event stream, commands through the router."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from tests.web.conftest import PASSWORDS, WebSite, client, csrf_of, login, wait_for


@pytest.fixture
async def site(make_web_site: Callable[..., Any]) -> AsyncIterator[WebSite]:
    async with make_web_site() as running:
        yield running


async def logged_in(site: WebSite, user: str) -> tuple[aiohttp.ClientSession, str]:
    session = client()
    response = await login(session, site.url, user, PASSWORDS[user])
    assert response.status == 303, await response.text()
    return session, await csrf_of(session, site.url)


async def command(
    session: aiohttp.ClientSession, site: WebSite, body: dict[str, Any], **headers: str
) -> aiohttp.ClientResponse:
    hdrs = {"Origin": site.url.rstrip("/"), **headers}
    return await session.post(f"{site.url}api/command", json=body, headers=hdrs)


async def test_the_page_asks_for_a_login_and_refuses_a_wrong_password(site: WebSite) -> None:
    async with client() as session:
        async with session.get(site.url) as page:
            assert page.status == 200
            assert 'name="password"' in await page.text()
        async with session.get(f"{site.url}api/snapshot") as api:
            assert api.status == 401
        wrong = await login(session, site.url, "alice", "not-her-password")
        assert wrong.status == 401
        assert "Wrong user name or password" in await wrong.text()
        unknown = await login(session, site.url, "mallory", "whatever-1")
        assert unknown.status == 401
        assert not any(c.key == "pilebridge_session" for c in session.cookie_jar)


async def test_login_sets_a_strict_httponly_cookie_and_logout_ends_the_session(
    site: WebSite,
) -> None:
    async with client() as session:
        response = await login(session, site.url, "alice", PASSWORDS["alice"])
        cookie = response.cookies["pilebridge_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
        csrf = await csrf_of(session, site.url)
        async with session.get(f"{site.url}api/snapshot") as snap:
            assert snap.status == 200
        origin = {"Origin": site.url.rstrip("/")}
        async with session.post(
            f"{site.url}logout", data={"csrf": csrf}, headers=origin, allow_redirects=False
        ) as out:
            assert out.status == 303
        session.cookie_jar.update_cookies({"pilebridge_session": cookie.value})
        async with session.get(f"{site.url}api/snapshot") as snap:
            assert snap.status == 401  # the old cookie is worth nothing now


async def test_failed_logins_are_rate_limited_per_address(site: WebSite) -> None:
    async with client() as session:
        statuses = [
            (await login(session, site.url, f"user{i}", "wrong-password")).status for i in range(5)
        ]
        assert statuses == [401] * 5
        throttled = await login(session, site.url, "alice", PASSWORDS["alice"])
        assert throttled.status == 429
        assert int(throttled.headers["Retry-After"]) > 0
        async with session.get(f"{site.url}healthz") as health:
            assert health.status == 200  # the rest of the listener serves on


async def test_snapshot_shows_the_devices_from_the_simulators(site: WebSite) -> None:
    session, _ = await logged_in(site, "victor")
    async with session:

        async def snapshot() -> dict[str, Any]:
            async with session.get(f"{site.url}api/snapshot") as response:
                data: dict[str, Any] = await response.json()
                return data

        data = await snapshot()
        assert data["devices"] == {
            "charger": ["CP-1", "CP-2"],
            "storage": ["bess-1"],
            "meter": ["grid-1"],
        }
        keys: set[str] = set()

        async def refresh() -> bool:
            nonlocal keys
            keys = {f"{v['kind']}/{v['id']}/{v['leaf']}" for v in (await snapshot())["values"]}
            return {"charger/CP-1/state", "charger/CP-2/state", "storage/bess-1/telemetry"} <= keys

        async with asyncio.timeout(20):
            while not await refresh():
                await asyncio.sleep(0.1)
        assert "limit" in data["panel"]["charger"] and "setpoint" in data["panel"]["storage"]


async def read_events(
    response: aiohttp.ClientResponse, predicate: Callable[[str, Any], bool], timeout: float = 20
) -> tuple[str, Any]:
    """Read server-sent events until one satisfies `predicate(event, data)`."""
    event = ""
    async with asyncio.timeout(timeout):
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                if predicate(event, data):
                    return event, data
    raise AssertionError("stream ended")


async def test_the_event_stream_starts_with_a_snapshot_and_carries_changes(site: WebSite) -> None:
    session, _ = await logged_in(site, "victor")
    async with session, session.get(f"{site.url}api/events") as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        event, data = await read_events(stream, lambda e, d: True)
        assert event == "snapshot" and data["site_id"] == "web-test"
        site.battery.battery.energy_wh = 42_000.0  # the simulated battery now reads 42 % SoC

        def soc_42(event: str, data: Any) -> bool:
            return event == "items" and any(
                i["kind"] == "storage" and i["body"].get("soc_pct") == pytest.approx(42.0, abs=0.5)
                for i in data
            )

        await read_events(stream, soc_42)


async def test_an_operator_command_goes_through_the_router_to_the_device(site: WebSite) -> None:
    session, csrf = await logged_in(site, "alice")
    async with session:
        response = await command(
            session,
            site,
            {"target": "storage", "device": "bess-1", "command": "setpoint",
             "args": {"power_w": -80_000, "ttl_s": 60, "id": "w1"}},
            **{"X-CSRF-Token": csrf},
        )  # fmt: skip
        assert response.status == 200
        result = await response.json()
        assert result["status"] == "accepted" and result["id"] == "w1"
        assert result["detail"]["clamped"] is True  # 80 kW is clamped to the configured 30 kW
        assert result["detail"]["applied_power_w"] == -30_000
        await wait_for(lambda: site.battery.battery.power_w < -20_000)
        twin = site.gateway.recorder.twins.get(*_storage("bess-1"))
        await wait_for(lambda: twin is not None and twin.state.setpoint is not None)


def _storage(device_id: str) -> tuple[Any, str]:
    from gateway.foundation.model import DeviceKind

    return DeviceKind.STORAGE, device_id


async def test_a_charger_limit_from_the_page_reaches_the_simulated_charger(site: WebSite) -> None:
    session, csrf = await logged_in(site, "alice")
    async with session:
        response = await command(
            session, site,
            {"target": "charger", "device": "CP-2", "command": "limit", "args": {"power_w": 6000}},
            **{"X-CSRF-Token": csrf},
        )  # fmt: skip
        assert (await response.json())["status"] == "accepted"
        await wait_for(lambda: site.chargers["CP-2"].limit_w(1) == pytest.approx(6000, abs=250))


async def test_bad_commands_get_the_routers_rejection(site: WebSite) -> None:
    session, csrf = await logged_in(site, "alice")
    async with session:
        hdr = {"X-CSRF-Token": csrf}
        cases = [
            ({"target": "charger", "device": "CP-9", "command": "reset", "args": {"type": "soft"}}, "unknown charger"),
            ({"target": "charger", "device": "CP-1", "command": "reset", "args": {"type": "warm"}}, "type"),
            ({"target": "storage", "device": "bess-1", "command": "setpoint", "args": {"power_w": 1, "ttl": 5}}, "unknown field"),
            ({"target": "toaster", "device": "x", "command": "y", "args": {}}, "unknown target"),
        ]  # fmt: skip
        for body, reason in cases:
            result = await (await command(session, site, body, **hdr)).json()
            assert result["status"] == "rejected", body
            assert reason in result["reason"], result


async def test_a_viewer_cannot_send_commands(site: WebSite) -> None:
    session, csrf = await logged_in(site, "victor")
    async with session:
        body = {"target": "charger", "device": "CP-1", "command": "reset", "args": {"type": "hard"}}
        response = await command(session, site, body, **{"X-CSRF-Token": csrf})
        assert response.status == 403
        assert "viewer" in await response.text()
    assert not site.chargers["CP-1"].recorder.received_of("Reset")


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no CSRF token
        {"X-CSRF-Token": "forged"},
        {"X-CSRF-Token": "<csrf>", "Origin": "http://evil.example"},
        {"X-CSRF-Token": "<csrf>", "Origin": ""},
    ],
)
async def test_a_post_without_the_token_or_from_another_origin_is_refused(
    site: WebSite, headers: dict[str, str]
) -> None:
    session, csrf = await logged_in(site, "alice")
    async with session:
        hdrs = {k: v.replace("<csrf>", csrf) for k, v in headers.items()}
        body = {"target": "charger", "device": "CP-1", "command": "reset", "args": {"type": "hard"}}
        response = await command(session, site, body, **hdrs)
        assert response.status == 403
    assert not site.chargers["CP-1"].recorder.received_of("Reset")


async def test_a_login_from_another_origin_is_refused(site: WebSite) -> None:
    async with client() as session:
        response = await session.post(
            f"{site.url}login",
            data={"user": "alice", "password": PASSWORDS["alice"]},
            headers={"Origin": "http://evil.example"},
            allow_redirects=False,
        )
        assert response.status == 403


async def test_a_control_centre_command_over_mqtt_shows_on_the_page(site: WebSite) -> None:
    import aiomqtt

    assert site.gateway.link is not None
    await wait_for(lambda: site.gateway.link is not None and site.gateway.link.connected)
    session, _ = await logged_in(site, "victor")
    async with session, session.get(f"{site.url}api/events") as stream:
        await read_events(stream, lambda e, d: e == "snapshot")
        broker = site.gateway.config.mqtt
        async with aiomqtt.Client(broker.host, broker.port) as mqtt:
            await mqtt.publish(
                f"{site.gateway.topics.base}/charger/CP-1/cmd/trigger",
                json.dumps({"id": "cc-7", "message": "StatusNotification"}),
                qos=1,
            )

        def result_seen(event: str, data: Any) -> bool:
            return event == "items" and any(
                i["leaf"] == "cmd/trigger/result"
                and i["body"]["user"] == "control centre"
                and i["body"]["id"] == "cc-7"
                and i["body"]["status"] == "accepted"
                for i in data
            )

        await read_events(stream, result_seen)
