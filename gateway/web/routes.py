"""The page's HTTP routes on the gateway's aiohttp listener.

| route | who | what |
| --- | --- | --- |
| `GET /` | anyone | the login form, or the site page once logged in |
| `POST /login`, `POST /logout` | anyone / logged in | form posts (same origin only) |
| `GET /static/app.js`, `/static/app.css` | anyone | the page's script and style |
| `GET /api/snapshot` | viewer | the gateway status, latest values and recent events (JSON) |
| `GET /api/events` | viewer | the same, then every change, as server-sent events |
| `POST /api/command` | operator | one command through the router; its result (JSON) |
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from importlib import resources
from typing import Any

import structlog
from aiohttp import web

from gateway.foundation.clock import Clock
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.commands.schemas import COMMAND_SCHEMAS
from gateway.foundation.config import Config
from gateway.http.health import HealthReporter
from gateway.recorder import OutboxRecorder
from gateway.topics import Topics
from gateway.web.commands import PanelCommands
from gateway.web.feed import LiveFeed
from gateway.web.guard import Guard
from gateway.web.login import LoginForm
from gateway.web.page import SECURITY_HEADERS, site_page
from gateway.web.panel import panel_forms
from gateway.web.sessions import LoginThrottle, SessionStore

__all__ = ["WebPage"]

log = structlog.get_logger("gateway.web")

_STATUS_EVERY_S = 2.0
_WRITE_TIMEOUT_S = 10.0
_MAX_NAME = 128
_STATIC = {"app.js": "text/javascript", "app.css": "text/css"}


class WebPage:
    """The technician's page: built when `http.ui` is true, mounted on the HTTP listener."""

    def __init__(
        self,
        config: Config,
        *,
        topics: Topics,
        clock: Clock,
        recorder: OutboxRecorder,
        router: CommandRouter,
        health: HealthReporter,
    ) -> None:
        cfg = config.http
        self._config = config
        self._router = router
        self._health = health
        self.feed = LiveFeed(topics, clock)
        recorder.subscribe(self.feed.on_record)
        self.guard = Guard(
            SessionStore(clock, cfg.session_ttl_s),
            open_page=not cfg.users,
            ttl_s=cfg.session_ttl_s,
        )
        self.login = LoginForm(
            self.guard, {u.name: u for u in cfg.users}, LoginThrottle(clock), config.site.id
        )
        self.commands = PanelCommands(router, self.feed, clock)
        self._closing = asyncio.Event()
        folder = resources.files("gateway.web") / "static"
        self._static = {name: (folder / name).read_bytes() for name in _STATIC}

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/", self._page)
        app.router.add_post("/login", self.login.login)
        app.router.add_post("/logout", self.login.logout)
        app.router.add_get("/static/{name}", self._static_file)
        app.router.add_get("/api/snapshot", self._snapshot)
        app.router.add_get("/api/events", self._events)
        app.router.add_post("/api/command", self._command)
        app.on_shutdown.append(self._on_shutdown)

    async def _on_shutdown(self, _: web.Application) -> None:
        self._closing.set()
        self.feed.wake_all()

    # -- documents ------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.Response:
        self.guard.check_host(request)
        session = self.guard.session(request)
        if session is None:
            return self.login.form()
        html = site_page(
            self._config.site.id,
            session.user,
            session.role,
            session.csrf,
            can_logout=not self.guard.open_page,
        )
        return web.Response(text=html, content_type="text/html", headers=SECURITY_HEADERS)

    async def _static_file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self._static:
            raise web.HTTPNotFound()
        return web.Response(
            body=self._static[name],
            content_type=_STATIC[name],
            charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )

    # -- live data ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        handled = {key for key in COMMAND_SCHEMAS if self._router.handles(*key)}
        return {
            "site_id": self._config.site.id,
            "grid_meter": self._config.grid_meter_id,
            "status": self._status(),
            "devices": self._devices(),
            "panel": panel_forms(handled),
            **self.feed.snapshot(),
        }

    def _status(self) -> dict[str, Any]:
        _, document = self._health.document()
        document.pop("devices", None)
        document.pop("site", None)
        return document

    def _devices(self) -> dict[str, list[str]]:
        _, document = self._health.document()
        groups = {"chargers": "charger", "storage": "storage", "meters": "meter"}
        return {
            kind: [d["id"] for d in document.get("devices", {}).get(group, [])]
            for group, kind in groups.items()
        }

    async def _snapshot(self, request: web.Request) -> web.Response:
        self.guard.viewer(request)
        return _json(self.snapshot())

    async def _events(self, request: web.Request) -> web.StreamResponse:
        session = self.guard.viewer(request)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
        )
        response.headers["Cache-Control"] = "no-store"
        await response.prepare(request)
        sub = self.feed.subscribe()
        loop = asyncio.get_running_loop()
        log.info(
            "web_page_opened", user=session.user, peer=request.remote, pages=self.feed.subscribers
        )
        try:
            await self._write(response, "snapshot", self.snapshot())
            status_due = loop.time() + _STATUS_EVERY_S
            while not self._closing.is_set() and self.guard.session(request) is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(status_due):
                        await sub.wake.wait()
                items = sub.take()
                if items:
                    await self._write(response, "items", [item.as_json() for item in items])
                if loop.time() >= status_due:
                    await self._write(response, "status", self._status())
                    status_due = loop.time() + _STATUS_EVERY_S
        except (ConnectionError, TimeoutError):
            pass  # the page went away or stopped reading: it reconnects and starts afresh
        finally:
            self.feed.unsubscribe(sub)
            log.info("web_page_closed", user=session.user, peer=request.remote)
        return response

    @staticmethod
    async def _write(response: web.StreamResponse, event: str, data: Any) -> None:
        text = json.dumps(data, separators=(",", ":"), default=str)
        async with asyncio.timeout(_WRITE_TIMEOUT_S):
            await response.write(f"event: {event}\ndata: {text}\n\n".encode())

    # -- commands -------------------------------------------------------------------------

    async def _command(self, request: web.Request) -> web.Response:
        session = self.guard.operator(request, request.headers.get("X-CSRF-Token"))
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise web.HTTPBadRequest(text="The request body must be JSON.\n") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="The request body must be a JSON object.\n")
        target, device, name = body.get("target"), body.get("device"), body.get("command")
        args = body.get("args", {})
        if not all(isinstance(v, str) and 0 < len(v) <= _MAX_NAME for v in (target, device, name)):
            raise web.HTTPBadRequest(
                text=f"target, device and command must be strings of 1 to {_MAX_NAME} characters.\n"
            )
        if not isinstance(args, dict):
            raise web.HTTPBadRequest(text="args must be a JSON object.\n")
        assert isinstance(target, str) and isinstance(device, str) and isinstance(name, str)
        payload = json.dumps(args).encode()
        result = await self.commands.send(session.user, target, device, name, payload)
        return _json(result)


def _json(data: Any) -> web.Response:
    text = json.dumps(data, separators=(",", ":"), default=str)
    return web.Response(text=text, content_type="application/json")
