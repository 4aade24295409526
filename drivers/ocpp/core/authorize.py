"""Id tag authorization against the configured tags (OCPP 1.6 §4.2 Authorize, 2.0.1 C01).

Tags are compared case-insensitively: the same RFID card is reported as `04a2b3` by one reader
and `04A2B3` by another (ISO 14443 UIDs are hex, the case is the reader's choice).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["TagAuthorizer"]


class TagAuthorizer:
    def __init__(self, tags: Iterable[str], *, accept_all: bool = False) -> None:
        self._tags = frozenset(tag.strip().casefold() for tag in tags)
        self._accept_all = accept_all

    def status(self, id_tag: str | None) -> str:
        """`Accepted` or `Invalid` (the AuthorizationStatus value of every version)."""
        if self._accept_all:
            return "Accepted"
        if id_tag and id_tag.strip().casefold() in self._tags:
            return "Accepted"
        return "Invalid"

    def token_status(self, token: str | None, token_type: str | None) -> str:
        """OCPP 2.x: `NoAuthorization` needs no check; `Central` tokens are the gateway's own."""
        if token_type in ("NoAuthorization", "Central"):
            return "Accepted"
        return self.status(token)
