"""Password hashes for the web page's users: scrypt (RFC 7914) from the standard library.

A hash is one self-describing string, `scrypt$N$r$p$SALT$KEY` (salt and key in unpadded
base64url), so the cost can be raised later without breaking the hashes already in configs.
The default cost (N=2^14, r=8: 16 MiB, tens of milliseconds) is the interactive-login value
RFC 7914 §2 suggests; checking runs off the event loop (see `verify_password_async`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets

__all__ = [
    "PasswordHashError",
    "check_hash",
    "hash_password",
    "verify_password",
    "verify_password_async",
]

_SCHEME = "scrypt"
_N, _R, _P = 2**14, 8, 1
_KEY_BYTES = 32
_MAX_MEMORY = 64 * 1024 * 1024  # scrypt needs 128 * r * N bytes: a login stays affordable
_MAX_WORK = 2**19  # N * r * p: at most four times the default cost
_MAX_PASSWORD_BYTES = 1024


class PasswordHashError(ValueError):
    """A `password_hash` in the config that this module cannot check."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, n: int = _N, r: int = _R, p: int = _P) -> str:
    """The string to put in `http.users[].password_hash`."""
    if not password:
        raise ValueError("the password is empty")
    salt = secrets.token_bytes(16)
    key = _derive(password.encode(), salt, n, r, p)
    return f"{_SCHEME}${n}${r}${p}${_b64(salt)}${_b64(key)}"


def check_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    """(N, r, p, salt, key) of a well-formed hash; PasswordHashError says what is wrong."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != _SCHEME:
        raise PasswordHashError(
            "not a password hash made by 'pilebridge hash-password' (scrypt$N$r$p$salt$key)"
        )
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, key = _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error):
        raise PasswordHashError("damaged password hash (bad number or base64)") from None
    usable = n >= 2 and not n & (n - 1) and r >= 1 and p >= 1
    if not usable or 128 * r * n > _MAX_MEMORY or n * r * p > _MAX_WORK:
        raise PasswordHashError(f"password hash cost out of range (N={n}, r={r}, p={p})")
    if len(salt) < 8 or len(key) < 16:
        raise PasswordHashError("password hash salt or key too short")
    return n, r, p, salt, key


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches; False for a wrong password or an unusable hash."""
    try:
        n, r, p, salt, key = check_hash(encoded)
        candidate = password.encode("utf-8")
    except (PasswordHashError, UnicodeEncodeError):
        return False
    if len(candidate) > _MAX_PASSWORD_BYTES:
        return False
    return hmac.compare_digest(_derive(candidate, salt, n, r, p, len(key)), key)


async def verify_password_async(password: str, encoded: str) -> bool:
    """`verify_password` in a worker thread: scrypt must not stall the gateway's loop."""
    return await asyncio.to_thread(verify_password, password, encoded)


def _derive(password: bytes, salt: bytes, n: int, r: int, p: int, size: int = _KEY_BYTES) -> bytes:
    maxmem = 128 * r * (n + p + 2) + 1024 * 1024
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=size)
