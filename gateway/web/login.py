"""Logging in and out of the page: password check, failed-login throttle, session cookie.

A failed login answers the same for an unknown user and a wrong password (and costs the same
time: an unknown user is checked against a dummy hash), so the form does not tell which user
names exist. After five failures from one address or for one user name within five minutes,
further tries get 429 with `Retry-After` until the window has passed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

import structlog
from aiohttp import web

from gateway.foundation.passwords import hash_password, verify_password_async
from gateway.web.guard import Guard
from gateway.web.page import SECURITY_HEADERS, login_page
from gateway.web.sessions import LoginThrottle, Role

__all__ = ["LoginForm", "WebUser"]

log = structlog.get_logger("gateway.web")

_MAX_FIELD = 1024


class WebUser(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def password_hash(self) -> str: ...
    @property
    def role(self) -> Role: ...


class LoginForm:
    def __init__(
        self, guard: Guard, users: Mapping[str, WebUser], throttle: LoginThrottle, site: str
    ) -> None:
        self._guard = guard
        self._users = users
        self._throttle = throttle
        self._site = site
        self._dummy_hash = hash_password("not a password of anyone") if users else ""

    def form(self, message: str | None = None, status: int = 200) -> web.Response:
        return web.Response(
            status=status,
            text=login_page(self._site, message),
            content_type="text/html",
            headers=SECURITY_HEADERS,
        )

    async def login(self, request: web.Request) -> web.Response:
        self._guard.check_same_origin(request)
        if self._guard.open_page:
            raise web.HTTPSeeOther("/")
        form = await _form(request)
        user, password = form.get("user"), form.get("password")
        if not isinstance(user, str) or not isinstance(password, str):
            return self.form("Enter a user name and a password.", 400)
        if len(user) > _MAX_FIELD or len(password) > _MAX_FIELD:
            return self.form("User name or password too long.", 400)
        keys = (f"peer:{request.remote}", f"user:{user.casefold()}")
        wait = self._throttle.retry_after(*keys)
        if wait > 0:
            log.warning("web_login_throttled", peer=request.remote, user=user[:64])
            response = self.form(f"Too many failed logins: try again in {math.ceil(wait)} s.", 429)
            response.headers["Retry-After"] = str(math.ceil(wait))
            return response
        account = self._users.get(user)
        good = await verify_password_async(
            password, account.password_hash if account else self._dummy_hash
        )
        if account is None or not good:
            self._throttle.failed(*keys)
            log.warning("web_login_failed", peer=request.remote, user=user[:64])
            return self.form("Wrong user name or password.", 401)
        self._throttle.succeeded(*keys)
        session = self._guard.sessions.create(account.name, account.role)
        log.info("web_login", peer=request.remote, user=account.name, role=account.role)
        response = web.HTTPSeeOther("/")
        self._guard.set_cookie(request, response, session.token)
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        self._guard.check_same_origin(request)
        form = await _form(request)
        session = self._guard.session(request)
        csrf = form.get("csrf")
        if session is None or not session.csrf_matches(csrf if isinstance(csrf, str) else None):
            raise web.HTTPForbidden(text="Missing or wrong CSRF token: reload the page.\n")
        self._guard.sessions.drop(session.token)
        log.info("web_logout", peer=request.remote, user=session.user)
        response = web.HTTPSeeOther("/")
        self._guard.clear_cookie(response)
        raise response


async def _form(request: web.Request) -> Mapping[str, object]:
    """The posted form; a body that is not a form (bad encoding, not UTF-8) is a 400."""
    try:
        return await request.post()
    except (UnicodeDecodeError, ValueError) as exc:
        raise web.HTTPBadRequest(text=f"Not a form: {type(exc).__name__}.\n") from None
