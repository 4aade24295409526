"""`pilebridge demo` serves the web page on loopback without a login and prints its URL."""

from __future__ import annotations

import asyncio
import json
import re
import sys

import aiohttp

from gateway.demo.broker import PrivateMosquitto


async def test_the_demo_prints_the_page_url_and_the_page_shows_the_site(
    mosquitto: PrivateMosquitto,
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "demo", "--mqtt", f"127.0.0.1:{mosquitto.port}",
        "--no-ui", "--duration", "60", "--http-port", "0", "--chargers", "2",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        url = None
        async with asyncio.timeout(60):
            while url is None:
                line = (await proc.stderr.readline()).decode()
                assert line, "the demo ended before printing the page URL"
                found = re.search(r"web page:\s+(http://127\.0\.0\.1:\d+/)", line)
                url = found.group(1) if found else None
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as page:
                html = await page.text()
                assert page.status == 200 and 'name="csrf-token"' in html  # no login form
            async with asyncio.timeout(60):
                while True:
                    async with session.get(f"{url}api/snapshot") as snap:
                        data = json.loads(await snap.text())
                    kinds = {(v["kind"], v["id"], v["leaf"]) for v in data["values"]}
                    if {("charger", "CP-1", "state"), ("storage", "bess-1", "telemetry")} <= kinds:
                        break
                    await asyncio.sleep(0.3)
        assert data["devices"]["charger"] == ["CP-1", "CP-2"]
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.communicate(), 30)
