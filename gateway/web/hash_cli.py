"""`pilebridge hash-password`: the value for `http.users[].password_hash`.

On a terminal it asks twice without echo; from a pipe it reads one line (for scripts and
provisioning: `printf '%s\\n' "$PW" | pilebridge hash-password`). Only the hash is printed.
"""

from __future__ import annotations

import getpass
import sys
from typing import TextIO

from gateway.foundation.passwords import hash_password

__all__ = ["run_hash_password"]

_MIN_LENGTH = 8


def run_hash_password(stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    if stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("pilebridge: the two passwords differ", file=sys.stderr)
            return 1
    else:
        password = stdin.readline().rstrip("\r\n")
    if len(password) < _MIN_LENGTH:
        print(f"pilebridge: use at least {_MIN_LENGTH} characters", file=sys.stderr)
        return 1
    print(hash_password(password), file=out)
    return 0
