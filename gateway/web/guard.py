"""Who may see the page and who may change the site through it.

Two modes. With `http.users` every request needs a session from a password login
(viewer: read-only; operator: the commissioning panel too). Without users the page is open,
which the config allows only on a loopback address; then the `Host` header must name
loopback too, so a web site that rebinds its DNS name to 127.0.0.1 cannot reach the page.

Every state-changing request (POST) must come from the page itself: its `Origin` (or, when
a browser leaves that out, its `Referer`) names this host, and it carries the session's CSRF
token. The session cookie is HttpOnly and SameSite=Strict on top of that.
"""

from __future__ import annotations

import math
import secrets
from urllib.parse import urlsplit

from aiohttp import web

from gateway.foundation.config import is_loopback_host
from gateway.web.sessions import Session, SessionStore

__all__ = ["COOKIE", "LOCAL_USER", "Guard"]

COOKIE = "pilebridge_session"
LOCAL_USER = "local"
"""The user name commands are logged with when the page has no users (loopback only)."""


def _host_name(host_header: str) -> str:
    """The name in a `Host` header, without its port."""
    if host_header.startswith("["):
        return host_header[: host_header.find("]") + 1]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class Guard:
    def __init__(self, sessions: SessionStore, *, open_page: bool, ttl_s: float) -> None:
        self.sessions = sessions
        self.open_page = open_page
        """No users configured: anyone who reaches the loopback listener is an operator."""
        self._ttl = ttl_s
        self._local = Session("", LOCAL_USER, "operator", secrets.token_urlsafe(32), math.inf)
        """The one session of an open page: its CSRF token still keeps other sites out."""

    def session(self, request: web.Request) -> Session | None:
        if self.open_page:
            return self._local
        return self.sessions.get(request.cookies.get(COOKIE))

    def check_host(self, request: web.Request) -> None:
        """An open page answers only to loopback names (DNS rebinding protection)."""
        if self.open_page and not is_loopback_host(_host_name(request.host)):
            raise web.HTTPMisdirectedRequest(
                text="This page has no users configured, so it answers only on loopback "
                "(open it as http://127.0.0.1:PORT/ on the gateway, or configure http.users).\n"
            )

    def viewer(self, request: web.Request) -> Session:
        """The session of a request that reads; 401 without one."""
        self.check_host(request)
        session = self.session(request)
        if session is None:
            raise web.HTTPUnauthorized(text="Log in first.\n")
        return session

    def operator(self, request: web.Request, csrf: str | None) -> Session:
        """The session of a request that changes something: same origin, token, role."""
        self.check_same_origin(request)
        session = self.viewer(request)
        if not session.csrf_matches(csrf):
            raise web.HTTPForbidden(text="Missing or wrong CSRF token: reload the page.\n")
        if not session.can_operate:
            raise web.HTTPForbidden(text=f"User {session.user} may only view (role viewer).\n")
        return session

    def check_same_origin(self, request: web.Request) -> None:
        source = request.headers.get("Origin") or request.headers.get("Referer")
        if not source or source == "null":
            raise web.HTTPForbidden(text="Cross-site request refused (no Origin header).\n")
        if urlsplit(source).netloc.lower() != request.host.lower():
            raise web.HTTPForbidden(text="Cross-site request refused (Origin is another site).\n")

    def set_cookie(self, request: web.Request, response: web.StreamResponse, token: str) -> None:
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(self._ttl),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=request.secure,
        )

    @staticmethod
    def clear_cookie(response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE, path="/")
