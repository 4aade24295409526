"""The 1.6 transaction id high-water mark, kept outside the database it guards.

`transactions.sqlite` holds the id counter with the rows; if that file is damaged and set
aside, its counter goes with it. So ids are reserved in blocks, and the end of the reserved
block is written to `transactions.ids` (atomically, fsynced, before an id of the block is
handed out). A new database starts above it -- and above a floor derived from the clock, in
case this file is lost as well (see transactions.first_transaction_id).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["BLOCK", "read_reserve", "write_reserve"]

BLOCK = 1000
"""Ids reserved per write: one small file write per thousand transactions."""


def read_reserve(path: Path) -> int:
    """The reserved high-water mark, 0 when the file is missing or unreadable."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return 0
    return int(text) if text.isdigit() and len(text) < 20 else 0


def write_reserve(path: Path, value: int) -> None:
    """Durably record that ids below `value` may have been handed out."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="ascii") as handle:
        handle.write(f"{value}\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
