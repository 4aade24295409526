"""Authorisation: the site's tags, decisions as events, Central tokens, local lists, cache."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from gateway.foundation.config import Config
from gateway.foundation.model import ChargerEvent, CommandResult, CommandStatus
from tests.drivers.ocpp.conftest import Site, running_driver
from tests.drivers.ocpp.peers import charger
from tests.drivers.ocpp.sims import CHARGER, VERSIONS, simulated


async def tags(site: Site, **body: Any) -> CommandResult:
    request, args, rejection = site.router.parse("site", "t", "tags", json.dumps(body).encode())
    assert rejection is None and request is not None, rejection
    return await site.router.dispatch(request, args)


async def authorize(cp: Any, tag: str, token_type: str = "ISO14443") -> dict[str, Any]:
    if cp.version == "1.6":
        return (await cp.raw("Authorize", {"idTag": tag}))["idTagInfo"]  # type: ignore[no-any-return]
    reply = await cp.raw("Authorize", {"idToken": {"idToken": tag, "type": token_type}})
    return reply["idTokenInfo"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("version", VERSIONS)
async def test_site_tags_are_effective_at_once_and_every_decision_is_published(
    site: Site, version: str
) -> None:
    cid = CHARGER[version]
    async with charger(site.port, cid, version) as cp:
        await site.connected(cid)
        assert (await authorize(cp, "CARD-9"))["status"] == "Invalid"
        result = await tags(
            site,
            add=[
                {"id_tag": "card-9", "group": "fleet"},
                {"id_tag": "OLD-1", "expires_at": "2001-01-01T00:00:00Z"},
            ],
        )
        assert result.status is CommandStatus.ACCEPTED
        assert result.detail["added"] == 2 and result.detail["list_version"] >= 1
        info = await authorize(cp, "CARD-9")
        assert info["status"] == "Accepted"
        group = info.get("parentIdTag") or info["groupIdToken"]["idToken"]
        assert group == "fleet"
        assert (await authorize(cp, "old-1"))["status"] == "Expired"
        mark = site.mark()
        result = await tags(site, remove=[{"id_tag": "CARD-9"}, {"id_tag": "never-added"}])
        assert result.detail["removed"] == 1 and result.detail["not_found"] == ["never-added"]
        assert (await authorize(cp, "card-9"))["status"] == "Invalid"
        event = await site.wait_for(ChargerEvent, since=mark, event="authorize")
        assert event.data == {
            "id_tag": "card-9",
            "answer": "Invalid",
            "reason": "unknown_tag",
            "context": "Authorize",
            **({} if version == "1.6" else {"token_type": "ISO14443"}),
        }
        reasons = [e.data["reason"] for e in site.of(ChargerEvent, event="authorize")]
        assert reasons == ["unknown_tag", "site_tag", "expired", "unknown_tag"]


async def test_tags_survive_a_restart(config_factory: Callable[..., Config]) -> None:
    config = config_factory()
    async with running_driver(config) as site:
        await tags(site, add=[{"id_tag": "KEEP-1"}])
    async with running_driver(config) as site, charger(site.port, "CP-16") as cp:
        await site.connected("CP-16")
        assert (await authorize(cp, "keep-1"))["status"] == "Accepted"


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
async def test_only_central_tokens_the_gateway_issued_are_accepted(
    site: Site, version: str
) -> None:
    cid = CHARGER[version]
    async with charger(site.port, cid, version) as cp:
        await site.connected(cid)
        assert (await authorize(cp, "TAG-1", "Central"))["status"] == "Invalid"
        assert (await authorize(cp, "made-up", "Central"))["status"] == "Invalid"
        result = await site.command(cid, "start", id_tag="REMOTE-7", evse=1)
        assert result.status is CommandStatus.ACCEPTED
        assert (await authorize(cp, "remote-7", "Central"))["status"] == "Accepted"
        reasons = [e.data["reason"] for e in site.of(ChargerEvent, event="authorize")]
        assert reasons == [
            "central_token_not_issued",
            "central_token_not_issued",
            "issued_central_token",
        ]


@pytest.mark.parametrize("version", VERSIONS)
async def test_local_list_and_cache_on_the_simulator(site: Site, version: str) -> None:
    cid = CHARGER[version]
    await tags(site, add=[{"id_tag": "SITE-1"}, {"id_tag": "SITE-2"}])
    async with simulated(site.port, version) as sim:
        result = await site.command(cid, "local_list", version=5)
        assert result.status is CommandStatus.ACCEPTED, result
        assert result.detail["entries"] == 2
        assert sim.auth.version == 5 and sim.auth.local == {
            "site-1": "Accepted",
            "site-2": "Accepted",
        }
        result = await site.command(
            cid,
            "local_list",
            version=6,
            update="differential",
            entries=[{"id_tag": "SITE-1", "status": None}, {"id_tag": "X", "status": "Blocked"}],
        )
        assert result.status is CommandStatus.ACCEPTED, result
        assert sim.auth.local == {"site-2": "Accepted", "x": "Blocked"}
        stale = await site.command(cid, "local_list", version=6, update="differential", entries=[])
        assert stale.status is CommandStatus.REJECTED
        assert stale.detail["charger_status"] == "VersionMismatch"

        assert await sim.authorize("TAG-1") and sim.auth.cache == {"tag-1": "Accepted"}
        result = await site.command(cid, "clear_cache")
        assert result.status is CommandStatus.ACCEPTED and sim.auth.cache == {}

        if version != "1.6":  # 2.x: a disabled cache refuses ClearCache
            await site.command(cid, "set_config", key="AuthCacheCtrlr/Enabled", value=False)
            refused = await site.command(cid, "clear_cache")
            assert refused.status is CommandStatus.REJECTED
            assert refused.detail["charger_status"] == "Rejected"

        key = "LocalAuthListEnabled" if version == "1.6" else "LocalAuthListCtrlr/Enabled"
        await site.command(cid, "set_config", key=key, value=False)
        result = await site.command(cid, "local_list", version=7)
        assert result.status is CommandStatus.REJECTED
        assert result.detail["charger_status"] in ("NotSupported", "Failed")


async def test_a_charger_without_the_feature_is_rejected_clearly(site: Site) -> None:
    async with charger(site.port, "CP-16") as cp:
        await site.connected("CP-16")
        cp.errors["SendLocalList"] = "NotSupported"
        result = await site.command("CP-16", "local_list", version=1, entries=[])
        assert result.status is CommandStatus.REJECTED
        assert result.detail["error_code"] == "NotSupported"
        result = await site.command(
            "CP-16", "local_list", version=1, entries=[{"id_tag": "T" * 30}]
        )
        assert result.status is CommandStatus.REJECTED and "schema" in str(result.reason)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_sync_local_list_follows_the_site_tags(
    config_factory: Callable[..., Config], version: str
) -> None:
    config = config_factory(authorize={"tags": ["TAG-1"], "sync_local_list": True})
    async with running_driver(config) as site:
        await tags(site, add=[{"id_tag": "BOOT-1"}])
        async with simulated(site.port, version) as sim:
            await wait(lambda: sim.auth.local == {"boot-1": "Accepted"})  # after boot
            await tags(site, add=[{"id_tag": "LATER-2"}], remove=[{"id_tag": "BOOT-1"}])
            await wait(lambda: sim.auth.local == {"later-2": "Accepted"})
            assert sim.auth.version == site.driver.tag_store.version


async def wait(check: Callable[[], bool], timeout: float = 10.0) -> None:
    import asyncio

    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)
