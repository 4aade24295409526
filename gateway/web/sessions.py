"""Who is logged in to the web page, and how often a login may fail.

Sessions live in memory: a restart logs everyone out, which is what a technician expects
of a box that was just restarted. Each session carries its own CSRF token (sent back by the
page on every POST, compared in constant time). Both tables are bounded, so a flood of
logins or of failing guesses costs a fixed amount of memory.
"""

from __future__ import annotations

import hmac
import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Literal

from gateway.foundation.clock import Clock

__all__ = ["LoginThrottle", "Role", "Session", "SessionStore"]

Role = Literal["viewer", "operator"]


@dataclass
class Session:
    token: str = field(repr=False)  # secrets stay out of reprs (tracebacks, logs)
    user: str
    role: Role
    csrf: str = field(repr=False)
    expires_at: float

    @property
    def can_operate(self) -> bool:
        return self.role == "operator"

    def csrf_matches(self, candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(
            candidate.encode("utf-8", "replace"), self.csrf.encode()
        )


class SessionStore:
    """Random tokens -> sessions, expiring `ttl_s` after login; the oldest go past `limit`."""

    def __init__(self, clock: Clock, ttl_s: float, limit: int = 256) -> None:
        self._clock = clock
        self._ttl = ttl_s
        self._limit = limit
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def create(self, user: str, role: Role) -> Session:
        token = secrets.token_urlsafe(32)
        session = Session(
            token, user, role, secrets.token_urlsafe(32), self._clock.monotonic() + self._ttl
        )
        self._sessions[token] = session
        while len(self._sessions) > self._limit:
            self._sessions.popitem(last=False)
        return session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        if session.expires_at <= self._clock.monotonic():
            del self._sessions[token]
            return None
        return session

    def drop(self, token: str | None) -> None:
        if token:
            self._sessions.pop(token, None)

    def drop_user(self, user: str) -> None:
        for token in [t for t, s in self._sessions.items() if s.user == user]:
            del self._sessions[token]

    def __len__(self) -> int:
        return len(self._sessions)


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)


class LoginThrottle:
    """At most `max_failures` failed logins per key (client address, user name) per window."""

    def __init__(
        self, clock: Clock, *, max_failures: int = 5, window_s: float = 300.0, limit: int = 4096
    ) -> None:
        self._clock = clock
        self._max = max_failures
        self._window = window_s
        self._limit = limit
        self._keys: OrderedDict[str, _Failures] = OrderedDict()

    def retry_after(self, *keys: str) -> float:
        """Seconds until these keys may try again; 0 when they may now."""
        now = self._clock.monotonic()
        wait = 0.0
        for key in keys:
            entry = self._keys.get(key)
            if entry is None:
                continue
            while entry.times and entry.times[0] <= now - self._window:
                entry.times.popleft()
            if len(entry.times) >= self._max:
                wait = max(wait, entry.times[0] + self._window - now)
        return wait

    def failed(self, *keys: str) -> None:
        now = self._clock.monotonic()
        for key in keys:
            entry = self._keys.pop(key, None) or _Failures()
            entry.times.append(now)
            while len(entry.times) > self._max:
                entry.times.popleft()
            self._keys[key] = entry  # most recent last: the oldest key goes first past the limit
        while len(self._keys) > self._limit:
            self._keys.popitem(last=False)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._keys.pop(key, None)
