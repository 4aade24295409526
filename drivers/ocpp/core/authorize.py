"""Id tag authorization (OCPP 1.6 §4.2 Authorize, 2.0.1 C01): one decision with its reason.

Tags come from two places: `ocpp.authorize.tags` in the config (always valid) and the site's
tag list (`P/site/cmd/tags`, stored, with an optional expiry and group). Tags are compared
case-insensitively: the same RFID card is reported as `04a2b3` by one reader and `04A2B3` by
another (ISO 14443 UIDs are hex, the case is the reader's choice). A 2.x token of type
`Central` is one the central system made up for a remote start: only the ones this gateway
issued are accepted, so a charger (or an attacker at its keypad) cannot claim one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Decision", "SiteTag", "TagAuthorizer", "fold"]


def fold(tag: str) -> str:
    return tag.strip().casefold()


@dataclass(frozen=True, slots=True)
class SiteTag:
    id_tag: str
    expires_at: float | None = None
    """Epoch seconds; None: never."""
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    status: str
    """`Accepted`, `Invalid`, `Expired` (the AuthorizationStatus value of every version)."""
    reason: str
    """Why, for people: `config_tag`, `site_tag`, `accept_all`, `unknown_tag`, `expired`,
    `no_authorization`, `issued_central_token`, `central_token_not_issued`, `no_tag`."""
    expires_at: float | None = None
    group: str | None = None


class TagAuthorizer:
    def __init__(
        self,
        tags: Iterable[str],
        *,
        accept_all: bool = False,
        site_tags: Callable[[], Mapping[str, SiteTag]] | None = None,
        issued: Callable[[str], bool] | None = None,
    ) -> None:
        self._tags = frozenset(fold(tag) for tag in tags)
        self._accept_all = accept_all
        self._site_tags = site_tags or dict
        self._issued = issued or (lambda _token: False)

    def decide(self, id_tag: str | None, token_type: str | None, now_s: float) -> Decision:
        if token_type == "NoAuthorization":
            return Decision("Accepted", "no_authorization")
        if token_type == "Central":
            if id_tag and self._issued(fold(id_tag)):
                return Decision("Accepted", "issued_central_token")
            return Decision("Invalid", "central_token_not_issued")
        if not id_tag or not id_tag.strip():
            return Decision("Invalid", "no_tag")
        key = fold(id_tag)
        if key in self._tags:
            return Decision("Accepted", "config_tag")
        site = self._site_tags().get(key)
        if site is not None:
            if site.expires_at is not None and site.expires_at <= now_s:
                return Decision("Expired", "expired", site.expires_at, site.group)
            return Decision("Accepted", "site_tag", site.expires_at, site.group)
        if self._accept_all:
            return Decision("Accepted", "accept_all")
        return Decision("Invalid", "unknown_tag")

    def status(self, id_tag: str | None) -> str:
        """The 1.6 answer alone (no token types, no expiry check against a clock)."""
        return self.decide(id_tag, None, float("-inf")).status
