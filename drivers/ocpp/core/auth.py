"""Who may open an OCPP connection (OCPP 1.6 Security Whitepaper §2, 2.0.1 A00 security profiles).

Profile 0: nothing; 1: HTTP Basic over ws; 2: HTTP Basic over TLS; 3: TLS client certificate.
With Basic, the username must equal the charger id (2.0.1 A00.FR.203) and the password the
configured one; the comparison takes constant time. Pure: the server passes header values in.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["AuthResult", "check_basic", "check_client_certificate", "effective_profile"]

AuthResult = Literal["ok", "missing", "wrong"]


def effective_profile(security_profile: int | None, has_password: bool) -> int:
    """The configured profile, or 1 when a password is set and 0 when not."""
    if security_profile is not None:
        return security_profile
    return 1 if has_password else 0


def check_basic(header: str | None, charger_id: str, password: str | None) -> AuthResult:
    if password is None:
        return "ok"
    if not header or header[:6].lower() != "basic ":
        return "missing"
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "wrong"
    username, sep, given = decoded.partition(":")
    if not sep:
        return "wrong"
    user_ok = hmac.compare_digest(username.encode(), charger_id.encode())
    password_ok = hmac.compare_digest(given.encode(), password.encode())
    return "ok" if user_ok and password_ok else "wrong"


def check_client_certificate(peercert: Mapping[str, Any] | None, charger_id: str) -> AuthResult:
    """Profile 3: a verified client certificate whose subject CN is the charger id."""
    if not peercert:
        return "missing"
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName" and value == charger_id:
                return "ok"
    return "wrong"
