"""One-time upload links and the files they store: bounds, one use, expiry, a full disk."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.foundation.clock import SystemClock
from gateway.foundation.uploads import StoredUpload, UploadLinks, UploadRefused, safe_name


class FakeClock(SystemClock):
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def time(self) -> float:
        return self.now


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def links(tmp_path: Path, clock: FakeClock | None = None, **kw: int) -> UploadLinks:
    made = UploadLinks(
        tmp_path / "uploads",
        max_bytes=kw.get("max_bytes", 1000),
        max_files=kw.get("max_files", 3),
        ttl_s=60,
        clock=clock or FakeClock(),
    )
    made.base_url = "http://gw:8080"
    return made


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


async def test_a_link_stores_one_file_once(tmp_path: Path) -> None:
    uploads = links(tmp_path)
    heard: list[StoredUpload] = []
    uploads.subscribe(heard.append)
    url = uploads.issue("CP/1 x", 7)
    assert url.startswith("http://gw:8080/uploads/") and url.endswith("/")
    stored = await uploads.store(token_of(url), "../../etc/diag.log", chunks(b"abc", b"def"))
    assert stored.size == 6 and stored.sha256 == hashlib.sha256(b"abcdef").hexdigest()
    assert "/" not in stored.name and stored.name.endswith("etc_diag.log")
    assert (tmp_path / "uploads" / stored.name).read_bytes() == b"abcdef"
    assert heard == [stored] and stored.request_id == 7 and stored.charger_id == "CP/1 x"
    with pytest.raises(UploadRefused) as again:
        await uploads.store(token_of(url), "x.log", chunks(b"1"))
    assert again.value.status == 404


async def test_too_large_expired_and_unknown_links(tmp_path: Path) -> None:
    clock = FakeClock()
    uploads = links(tmp_path, clock, max_bytes=4)
    url = uploads.issue("CP-1", 1)
    with pytest.raises(UploadRefused) as big:
        await uploads.store(token_of(url), "a.log", chunks(b"123", b"45"))
    assert big.value.status == 413
    assert list((tmp_path / "uploads").iterdir()) == []  # nothing half-written stays
    stored = await uploads.store(token_of(url), "a.log", chunks(b"1234"))  # the link survived
    assert stored.size == 4
    late = uploads.issue("CP-1", 2)
    clock.now += 61
    with pytest.raises(UploadRefused) as expired:
        await uploads.store(token_of(late), "a.log", chunks(b"1"))
    assert expired.value.status == 404
    with pytest.raises(UploadRefused):
        uploads.target("made-up")


async def test_only_the_newest_files_are_kept(tmp_path: Path) -> None:
    clock = FakeClock()
    uploads = links(tmp_path, clock, max_files=2)
    names = []
    for i in range(4):
        clock.now += 1
        stored = await uploads.store(token_of(uploads.issue("CP-1", i)), f"{i}.log", chunks(b"x"))
        names.append(stored.name)
    left = sorted(p.name for p in (tmp_path / "uploads").iterdir())
    assert len(left) == 2 and set(left) <= set(names)


async def test_a_full_disk_is_a_clear_refusal(tmp_path: Path) -> None:
    uploads = links(tmp_path)
    (tmp_path / "uploads").write_text("not a directory")  # the store cannot create files
    with pytest.raises(UploadRefused) as refused:
        await uploads.store(token_of(uploads.issue("CP-1", 1)), "a.log", chunks(b"x"))
    assert refused.value.status in (500, 507)


def test_no_link_without_a_server(tmp_path: Path) -> None:
    uploads = links(tmp_path)
    uploads.base_url = None
    with pytest.raises(ValueError, match=r"http\.enabled"):
        uploads.issue("CP-1", 1)


@given(st.text(max_size=300))
def test_safe_names_never_leave_the_directory(text: str) -> None:
    name = safe_name(text)
    assert name and "/" not in name and "\\" not in name and not name.startswith(".")
    assert len(name) <= 80
