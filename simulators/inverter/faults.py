"""Fault injection state, set from tests or the CLI and consulted by the server on every request.

What a peer sees:

* ``busy(n, p)``: Modbus exception 6 (server device busy) for the next ``n`` requests,
  or for each request with probability ``p``.
* ``exception(code, n)``: any other exception code the same way (e.g. 4 device failure).
* ``delay(s)``: every reply delayed ``s`` seconds (``delay(0)`` ends it).
* ``freeze()`` / ``unfreeze()``: measured values stop updating (physics goes on).
* ``garbage(mode, n)``: the next ``n`` replies are malformed on the wire:
  ``byte_count`` (wrong PDU byte count), ``mbap_length`` (wrong MBAP length field),
  ``truncate`` (frame cut short), ``registers`` (well-formed frame, random values),
  ``wrong_tid`` (reply carries another transaction id), ``silent`` (no reply at all).
* dropping connections is an action on the server: ``await sim.drop(refuse_s=...)``.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

__all__ = ["GARBAGE_MODES", "Faults"]

GARBAGE_MODES = ("byte_count", "mbap_length", "truncate", "registers", "wrong_tid", "silent")
DEVICE_BUSY = 6
# Modbus application protocol v1.1b3 section 7: the defined exception codes
EXCEPTION_CODES = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 10, 11})


@dataclass
class Faults:
    """Fault switches of one simulated device; all off by default."""

    seed: int | None = None
    delay_s: float = 0.0
    frozen: bool = False
    exc_code: int = DEVICE_BUSY
    exc_remaining: int = 0
    exc_probability: float = 0.0
    garbage_mode: str | None = None
    garbage_remaining: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # injected so far, by kind

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def busy(self, n: int = 1, *, p: float = 0.0) -> None:
        """Exception 6 for the next ``n`` requests (and then with probability ``p``)."""
        self.exception(DEVICE_BUSY, n, p=p)

    def exception(self, code: int, n: int = 1, *, p: float = 0.0) -> None:
        if code not in EXCEPTION_CODES or n < 0 or not 0.0 <= p <= 1.0:
            raise ValueError(f"need code in {sorted(EXCEPTION_CODES)}, n >= 0, 0 <= p <= 1")
        self.exc_code, self.exc_remaining, self.exc_probability = code, n, p

    def delay(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("delay must not be negative")
        self.delay_s = seconds

    def freeze(self) -> None:
        self.frozen = True

    def unfreeze(self) -> None:
        self.frozen = False

    def garbage(self, mode: str = "byte_count", n: int = 1) -> None:
        if mode not in GARBAGE_MODES:
            raise ValueError(f"garbage mode must be one of {GARBAGE_MODES}")
        self.garbage_mode, self.garbage_remaining = mode, n

    def clear(self) -> None:
        """Back to a healthy device."""
        self.delay_s, self.frozen = 0.0, False
        self.exc_remaining, self.exc_probability = 0, 0.0
        self.garbage_mode, self.garbage_remaining = None, 0

    def take_exception(self) -> int | None:
        """The exception code to answer this request with, if any (consumes one)."""
        if self.exc_remaining > 0:
            self.exc_remaining -= 1
        elif not (self.exc_probability and self._rng.random() < self.exc_probability):
            return None
        self._count("exception")
        return self.exc_code

    def mangle(self, frame: bytes) -> bytes:
        """Apply the garbage fault to one outgoing Modbus TCP frame (MBAP + PDU)."""
        if self.garbage_remaining <= 0 or self.garbage_mode is None or len(frame) < 8:
            return frame
        self.garbage_remaining -= 1
        mode = self.garbage_mode
        self._count(f"garbage_{mode}")
        tid, proto, length = struct.unpack(">HHH", frame[:6])
        if mode == "silent":
            return b""
        if mode == "truncate":
            return frame[: max(len(frame) // 2, 7)]
        if mode == "mbap_length":
            return struct.pack(">HHH", tid, proto, length + 7) + frame[6:]
        if mode == "wrong_tid":
            return struct.pack(">HHH", (tid + 0x1234) & 0xFFFF, proto, length) + frame[6:]
        function = frame[7]
        if function in (3, 4) and len(frame) >= 9:
            if mode == "byte_count":
                return frame[:8] + bytes([(frame[8] + 4) & 0xFF]) + frame[9:]
            noise = bytes(self._rng.getrandbits(8) for _ in range(len(frame) - 9))
            return frame[:9] + noise
        return frame[:7] + bytes([function]) + b"\xff" * max(len(frame) - 8, 1)

    def _count(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
