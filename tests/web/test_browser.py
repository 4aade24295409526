"""The page in a real headless Chromium (Debian's, driven by Playwright) against a running
gateway with simulated chargers, battery and grid meter."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.web.conftest import PASSWORDS, WebSite, wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT_MS = 20_000


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.fail("chromium is not installed (apt-get install chromium; .ci/run does it)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def site(make_web_site: Callable[..., Any]) -> AsyncIterator[WebSite]:
    async with make_web_site() as running:
        yield running


async def open_as(browser: Browser, site: WebSite, user: str, password: str | None = None) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(site.url)
    await page.fill("input[name=user]", user)
    await page.fill("input[name=password]", password or PASSWORDS[user])
    await page.click("button[type=submit]")
    return page


async def test_the_page_shows_the_simulated_site_and_follows_changes_live(
    browser: Browser, site: WebSite
) -> None:
    page = await open_as(browser, site, "victor")
    cp1 = page.locator('[data-charger="CP-1"]')
    cp2 = page.locator('[data-charger="CP-2"]')
    bess = page.locator('[data-storage="bess-1"]')
    await expect(page.locator("#link")).to_have_text("live", timeout=TIMEOUT_MS)
    await expect(cp1).to_contain_text("connected", timeout=TIMEOUT_MS)
    await expect(cp1).to_contain_text("OCPP 1.6", timeout=TIMEOUT_MS)
    await expect(cp2).to_contain_text("OCPP 2.0.1", timeout=TIMEOUT_MS)
    await expect(cp2).to_contain_text("Simu Sim-CP-2", timeout=TIMEOUT_MS)
    await expect(bess).to_contain_text("60.0 %", timeout=TIMEOUT_MS)
    await expect(page.locator("#gateway")).to_contain_text("connected", timeout=TIMEOUT_MS)
    await expect(page.locator("#grid")).to_contain_text("60.0 kW (config)", timeout=TIMEOUT_MS)
    await expect(page.locator("#grid")).to_contain_text("can shed", timeout=TIMEOUT_MS)
    await expect(page.locator("#grid .phases")).to_contain_text("L1", timeout=TIMEOUT_MS)

    site.battery.battery.energy_wh = 42_000.0  # the battery now reads 42 % SoC
    await expect(bess.locator(".soc-value")).to_have_text("42.0 %", timeout=TIMEOUT_MS)
    await site.chargers["CP-1"].plug_in(1, id_tag="04A2B3C4")
    await expect(cp1.locator("tr[data-evse='1'] .status")).to_have_text(
        "Charging", timeout=TIMEOUT_MS
    )
    await expect(page.locator("#event-list")).to_contain_text(
        "session started on EVSE 1", timeout=TIMEOUT_MS
    )
    assert not page.errors  # type: ignore[attr-defined]


async def send(page: Page, device: str, command: str, **fields: str) -> None:
    await page.select_option("#cmd-device", label=device)
    await page.select_option("#cmd-name", label=command)
    for name, value in fields.items():
        target = page.locator(f"#cmd-fields [name={name}]")
        if await target.evaluate("e => e.tagName") == "SELECT":
            await target.select_option(label=value)
        else:
            await target.fill(value)
    await page.click("#cmd-send")


async def test_commands_from_the_panel_reach_the_devices_and_show_their_results(
    browser: Browser, site: WebSite
) -> None:
    page = await open_as(browser, site, "alice")
    await expect(page.locator("#link")).to_have_text("live", timeout=TIMEOUT_MS)
    result = page.locator("#cmd-result")

    await send(page, "battery bess-1", "setpoint", power_w="-10000", ttl_s="120")
    await expect(result).to_contain_text("setpoint → bess-1: accepted", timeout=TIMEOUT_MS)
    await wait_for(lambda: site.battery.battery.power_w == pytest.approx(-10_000, abs=500))
    await expect(page.locator('[data-storage="bess-1"]')).to_contain_text(
        "setpoint in force-10.0 kW (", timeout=TIMEOUT_MS
    )

    await send(page, "charger CP-1", "limit", power_w="7000")
    await expect(result).to_contain_text("limit → CP-1: accepted", timeout=TIMEOUT_MS)
    await wait_for(lambda: site.chargers["CP-1"].limit_w(1) == pytest.approx(7000, abs=250))

    await send(page, "charger CP-2", "reset", type="soft")
    await expect(result).to_contain_text("reset → CP-2: accepted", timeout=TIMEOUT_MS)
    await site.chargers["CP-2"].recorder.wait_received("Reset", timeout_s=20)

    await send(page, "charger CP-1", "unlock", evse="7")
    await expect(result).to_contain_text("unlock → CP-1:", timeout=TIMEOUT_MS)
    await expect(page.locator("#event-list")).to_contain_text("alice → limit", timeout=TIMEOUT_MS)
    assert not page.errors  # type: ignore[attr-defined]


async def test_a_wrong_password_is_refused(browser: Browser, site: WebSite) -> None:
    page = await open_as(browser, site, "alice", "not-the-password")
    await expect(page.locator(".error")).to_have_text(
        "Wrong user name or password.", timeout=TIMEOUT_MS
    )
    assert await page.locator("#chargers").count() == 0
    cookies = await page.context.cookies()
    assert not [c for c in cookies if c["name"] == "pilebridge_session"]


POST_FROM_PAGE = """async (token) => {
  const headers = {"Content-Type": "application/json"};
  if (token) headers["X-CSRF-Token"] = token;
  const r = await fetch("api/command", {method: "POST", headers, body: JSON.stringify(
    {target: "charger", device: "CP-1", command: "reset", args: {type: "hard"}})});
  return [r.status, await r.text()];
}"""


async def test_a_viewer_has_no_panel_and_the_gateway_refuses_its_commands(
    browser: Browser, site: WebSite
) -> None:
    page = await open_as(browser, site, "victor")
    await expect(page.locator('[data-charger="CP-1"]')).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.locator("#panel")).to_be_hidden()
    token = await page.get_attribute('meta[name="csrf-token"]', "content")
    status, text = await page.evaluate(POST_FROM_PAGE, token)
    assert status == 403 and "viewer" in text
    assert not site.chargers["CP-1"].recorder.received_of("Reset")


async def test_a_post_without_the_csrf_token_is_refused(browser: Browser, site: WebSite) -> None:
    page = await open_as(browser, site, "alice")
    await expect(page.locator("#panel")).to_be_visible(timeout=TIMEOUT_MS)
    status, text = await page.evaluate(POST_FROM_PAGE, None)
    assert status == 403 and "CSRF" in text
    assert not site.chargers["CP-1"].recorder.received_of("Reset")


async def test_without_users_the_loopback_page_opens_without_a_login(
    browser: Browser, make_web_site: Callable[..., Any]
) -> None:
    async with make_web_site(users=[]) as site:
        page = await browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(site.url)
        await expect(page.locator("#user")).to_have_text("local")
        await expect(page.locator('[data-charger="CP-2"]')).to_contain_text(
            "connected", timeout=TIMEOUT_MS
        )
        await expect(page.locator("#panel")).to_be_visible()
