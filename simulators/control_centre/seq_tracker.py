"""One site's `seq` as a control centre checks it: repeats dropped, gaps found, reordering allowed.

QoS 1 delivers a record at least once; a bridge or a cluster failover may deliver a few out
of order. So a record is a repeat if its `seq` was seen before (not "if it is not above the
highest"), and a missing `seq` is a gap only once it has stayed missing for `settle_s` while
later records kept coming. Memory stays bounded: below the highest contiguous `seq` nothing is
kept, above it only the seqs seen out of order.

Pure: the caller passes the time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SeqTracker"]


@dataclass
class SeqTracker:
    settle_s: float = 30.0
    contiguous: int = 0
    """Every seq up to this one was seen (or declared a gap)."""
    ahead: set[int] = field(default_factory=set)
    """Seqs seen above `contiguous + 1`, waiting for the ones before them."""
    waiting_since: dict[int, float] = field(default_factory=dict)
    """When each missing seq below the highest seen was first noticed missing."""
    records: int = 0
    repeats: int = 0
    gaps: list[int] = field(default_factory=list)
    out_of_order: int = 0
    started: bool = False

    @property
    def highest(self) -> int:
        return max(self.ahead, default=self.contiguous)

    def seen(self, seq: int, now: float) -> bool:
        """Record `seq`; True if it is new (process it), False if it is a repeat."""
        if not self.started:
            # A consumer that joins late starts at the first record it gets.
            self.started = True
            self.contiguous = seq - 1
        if seq <= self.contiguous or seq in self.ahead:
            self.repeats += 1
            return False
        self.records += 1
        if seq < self.highest:
            self.out_of_order += 1
        self.waiting_since.pop(seq, None)
        for missing in range(self.highest + 1, seq):
            self.waiting_since.setdefault(missing, now)
        self.ahead.add(seq)
        self._advance()
        return True

    def expire(self, now: float) -> list[int]:
        """Declare as gaps the seqs missing for longer than `settle_s`; the new gaps."""
        late = sorted(s for s, since in self.waiting_since.items() if now - since >= self.settle_s)
        for seq in late:
            del self.waiting_since[seq]
            self.ahead.add(seq)  # counted as a gap: a late arrival is then a repeat
        self.gaps += late
        self._advance()
        return late

    def _advance(self) -> None:
        while self.contiguous + 1 in self.ahead:
            self.contiguous += 1
            self.ahead.discard(self.contiguous)
