"""One-time upload links for charger log files, and where the files land.

`get_logs` asks for a link per request (`issue`); the charger uploads its file there with
HTTP PUT or POST (the HTTP side is `gateway/http/files.py`). A link is a random 192-bit token,
valid for `http.uploads.link_ttl_s` and used up by the first complete upload. Files land in
`state_dir/uploads/`, written to a temporary name and renamed when complete, each bounded by
`max_bytes`; beyond `max_files` the oldest are deleted. Listeners (the OCPP driver) hear of
each stored file (`log_uploaded`).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.foundation.clock import Clock

__all__ = ["StoredUpload", "UploadLinks", "UploadRefused", "UploadTarget"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_PARTIAL = ".partial"


@dataclass(frozen=True, slots=True)
class UploadTarget:
    charger_id: str
    request_id: int
    expires_at: float


@dataclass(frozen=True, slots=True)
class StoredUpload:
    charger_id: str
    request_id: int
    name: str
    """File name under the uploads directory."""
    size: int
    sha256: str


class UploadRefused(Exception):
    """An upload that is not stored; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def safe_name(text: str, limit: int = 80) -> str:
    """A file name part with nothing but letters, digits, dot, dash and underscore."""
    cleaned = _SAFE.sub("_", text).strip("._")
    return cleaned[:limit] or "log"


class UploadLinks:
    def __init__(
        self, directory: Path, *, max_bytes: int, max_files: int, ttl_s: float, clock: Clock
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.ttl_s = ttl_s
        self._clock = clock
        self._links: dict[str, UploadTarget] = {}
        self._listeners: list[Callable[[StoredUpload], None]] = []
        self.base_url: str | None = None
        """Where chargers reach the HTTP server (`http.public_url`, or the bound address);
        None while no HTTP server runs."""

    def subscribe(self, listener: Callable[[StoredUpload], None]) -> None:
        self._listeners.append(listener)

    def issue(self, charger_id: str, request_id: int) -> str:
        """A one-time upload URL for `charger_id`'s request (ValueError without a server)."""
        if self.base_url is None:
            raise ValueError("no HTTP server to upload to: set http.enabled: true")
        now = self._clock.time()
        self._links = {t: x for t, x in self._links.items() if x.expires_at > now}
        token = secrets.token_urlsafe(24)
        self._links[token] = UploadTarget(charger_id, request_id, now + self.ttl_s)
        return f"{self.base_url.rstrip('/')}/uploads/{token}/"

    def target(self, token: str) -> UploadTarget:
        link = self._links.get(token)
        if link is None or link.expires_at <= self._clock.time():
            raise UploadRefused(404, "unknown or expired upload link")
        return link

    async def store(self, token: str, filename: str, chunks: AsyncIterator[bytes]) -> StoredUpload:
        """Write the upload; the link is used up once the file is complete."""
        link = self.target(token)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UploadRefused(507, f"cannot store the file: {exc.strerror or exc}") from exc
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self._clock.time()))
        name = f"{safe_name(link.charger_id, 40)}-{stamp}-{link.request_id}-{safe_name(filename)}"
        final = self.directory / name
        partial = self.directory / f"{name}.{secrets.token_hex(4)}{_PARTIAL}"
        digest = hashlib.sha256()
        size = 0
        try:
            with partial.open("wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise UploadRefused(413, f"file larger than {self.max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                await asyncio.to_thread(os.fsync, out.fileno())
            if self._links.pop(token, None) is None:
                raise UploadRefused(404, "upload link already used")
            partial.replace(final)
        except UploadRefused:
            partial.unlink(missing_ok=True)
            raise
        except OSError as exc:  # a full disk: nothing half-written stays behind
            partial.unlink(missing_ok=True)
            raise UploadRefused(507, f"cannot store the file: {exc.strerror or exc}") from exc
        stored = StoredUpload(link.charger_id, link.request_id, name, size, digest.hexdigest())
        self._prune()
        for listener in self._listeners:
            listener(stored)
        return stored

    def _prune(self) -> None:
        files = sorted(
            (p for p in self.directory.iterdir() if p.is_file() and not p.name.endswith(_PARTIAL)),
            key=lambda p: p.stat().st_mtime,
        )
        for old in files[: max(0, len(files) - self.max_files)]:
            old.unlink(missing_ok=True)
