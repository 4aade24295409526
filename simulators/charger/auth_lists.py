"""The charger's own knowledge of id tags: the local authorisation list the central system
sends (1.6 §5.15 SendLocalList, 2.0.1 D01) and the cache of the central system's answers
(1.6 §3.5.1, 2.0.1 C10). Used before asking (LocalPreAuthorize) and while offline
(LocalAuthorizeOffline); cleared by ClearCache."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["AuthLists"]

MAX_LIST = 1000
"""LocalAuthListMaxLength / SendLocalListMaxLength of the simulated charger."""


def _key(tag: str) -> str:
    return tag.strip().casefold()


@dataclass
class AuthLists:
    version: int = 0
    local: dict[str, str] = field(default_factory=dict)
    """tag -> status (Accepted, Blocked, Expired, Invalid)."""
    cache: dict[str, str] = field(default_factory=dict)

    def apply(self, version: int, update: str, items: list[dict[str, Any]]) -> str:
        """SendLocalList: `Accepted`, `Failed` or `VersionMismatch` (1.6 UpdateStatus)."""
        if len(items) > MAX_LIST:
            return "Failed"
        if update == "Differential" and version <= self.version and version != 0:
            return "VersionMismatch"
        entries: dict[str, str | None] = {}
        for item in items:
            token = item.get("idTag") or (item.get("idToken") or {}).get("idToken")
            if not isinstance(token, str):
                return "Failed"
            info = item.get("idTagInfo") or item.get("idTokenInfo")
            entries[_key(token)] = info.get("status") if isinstance(info, dict) else None
        if update == "Full":
            self.local = {k: v for k, v in entries.items() if v is not None}
        else:
            for key, status in entries.items():
                if status is None:
                    self.local.pop(key, None)
                else:
                    self.local[key] = status
        self.version = version
        return "Accepted"

    def known(self, tag: str) -> str | None:
        """The status the charger knows for `tag` (local list first, then the cache)."""
        key = _key(tag)
        return self.local.get(key) or self.cache.get(key)

    def remember(self, tag: str, status: str) -> None:
        self.cache[_key(tag)] = status
