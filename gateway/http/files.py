"""Firmware images and charger log uploads over the gateway's HTTP listener.

- `GET /files/{name}` serves the images in `http.files` (read-only, names without paths), so a
  site without internet can update chargers: the `update_firmware` location is
  `{public_url}/files/{name}`.
- `PUT` or `POST /uploads/{token}[/{filename}]` takes a charger's log file for a one-time link
  made by `get_logs` (`gateway.foundation.uploads`). PUT carries the file as the body; POST
  either as the body or as the file part of a `multipart/form-data` form, which is what most
  chargers send. 1.6 chargers that only upload by FTP cannot use it (see
  docs/charger-management.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from aiohttp import BodyPartReader, web

from gateway.foundation.uploads import UploadLinks, UploadRefused
from gateway.http.server import plain_error

__all__ = ["add_file_routes"]

log = structlog.get_logger("gateway.http.files")

_CHUNK = 64 * 1024


def _image(directory: Path, name: str) -> Path | None:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = directory / name
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if resolved.parent != directory.resolve() or not resolved.is_file():
        return None
    return resolved


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    while chunk := await request.content.read(_CHUNK):
        yield chunk


async def _part(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(_CHUNK):
        yield chunk


def add_file_routes(app: web.Application, files: Path | None, uploads: UploadLinks) -> None:
    async def image(request: web.Request) -> web.StreamResponse:
        path = _image(files, request.match_info["name"]) if files is not None else None
        if path is None:
            return plain_error(404)
        log.info("firmware_served", name=path.name, peer=request.remote)
        return web.FileResponse(path)

    async def upload(request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        filename = request.match_info.get("filename") or "upload.log"
        try:
            uploads.target(token)
            if request.content_type.startswith("multipart/"):
                reader = await request.multipart()
                while True:
                    part = await reader.next()
                    if part is None:
                        return plain_error(400, "no file in the form")
                    if isinstance(part, BodyPartReader) and part.filename:
                        stored = await uploads.store(token, part.filename, _part(part))
                        break
            else:
                stored = await uploads.store(token, filename, _body(request))
        except UploadRefused as refused:
            log.warning("upload_refused", status=refused.status, reason=refused.reason)
            return plain_error(refused.status, refused.reason)
        log.info("log_uploaded", charger_id=stored.charger_id, name=stored.name, size=stored.size)
        return web.Response(status=201, text="stored\n", content_type="text/plain")

    app.router.add_get("/files/{name}", image)
    for method in ("PUT", "POST"):
        app.router.add_route(method, "/uploads/{token}", upload)
        app.router.add_route(method, "/uploads/{token}/", upload)
        app.router.add_route(method, "/uploads/{token}/{filename}", upload)
