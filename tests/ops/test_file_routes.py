"""The HTTP side of firmware files and log uploads, over a real socket with aiohttp's client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from gateway.app import Gateway
from gateway.foundation.config import Config
from gateway.foundation.uploads import StoredUpload
from tests.conftest import running_gateway


@pytest.fixture
async def gateway(make_config: Callable[..., Config], tmp_path: Path) -> AsyncIterator[Gateway]:
    files = tmp_path / "fw"
    files.mkdir()
    (files / "fw-1.2.bin").write_bytes(b"version=1.2\n" + b"\xff" * 1000)
    (tmp_path / "secret.txt").write_text("not for chargers")
    (files / "link.bin").symlink_to(tmp_path / "secret.txt")
    config = make_config(http={"files": str(files), "uploads": {"max_bytes": 2048}})
    async with running_gateway(config) as gw:
        yield gw


async def test_firmware_files_are_served_and_nothing_else(gateway: Gateway) -> None:
    assert gateway.http is not None
    base = gateway.http.url
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/files/fw-1.2.bin") as response:
            assert response.status == 200
            assert (await response.read()).startswith(b"version=1.2\n")
        for bad in ("nope.bin", "link.bin", "..%2Fsecret.txt", "%2E%2E", ".hidden"):
            async with http.get(f"{base}/files/{bad}") as response:
                assert response.status == 404, bad


async def test_uploads_put_and_multipart_post(gateway: Gateway) -> None:
    assert gateway.http is not None and gateway.uploads is not None
    heard: list[StoredUpload] = []
    gateway.uploads.subscribe(heard.append)
    async with aiohttp.ClientSession() as http:
        url = gateway.uploads.issue("CP-1", 1)
        async with http.put(url + "diag.log", data=b"line 1\n") as response:
            assert response.status == 201
        async with http.put(url + "diag.log", data=b"again") as response:
            assert response.status == 404  # used up
        url = gateway.uploads.issue("CP-1", 2)
        form = aiohttp.FormData()
        form.add_field("file", b"zipped", filename="logs.zip", content_type="application/zip")
        async with http.post(url, data=form) as response:
            assert response.status == 201
        url = gateway.uploads.issue("CP-1", 3)
        async with http.put(url, data=b"x" * 4096) as response:
            assert response.status == 413
        async with http.put(f"{gateway.http.url}/uploads/made-up/", data=b"x") as response:
            assert response.status == 404
    assert [(h.request_id, h.size) for h in heard] == [(1, 7), (2, 6)]
    assert heard[1].name.endswith("logs.zip")
