"""A uniform random sample of a stream of values, bounded in size, and mergeable.

Exact while the stream has at most ``size`` values, a uniform random sample beyond (Vitter's
algorithm R). Two reservoirs merge into a uniform sample of both streams together, so samples
taken apart (by each worker of a replay) combine into the one a single pass would take.
"""

from __future__ import annotations

import random

RESERVOIR_SIZE = 1000


class Reservoir:
    """A uniform random sample of at most ``size`` values of a stream (Vitter's algorithm R)."""

    def __init__(self, size: int = RESERVOIR_SIZE, rng: random.Random | None = None) -> None:
        self.size = size
        self.seen = 0
        self.values: list[float] = []
        self.rng = rng or random.Random(0)

    def add(self, value: float) -> None:
        self.seen += 1
        if len(self.values) < self.size:
            self.values.append(value)
            return
        slot = self.rng.randrange(self.seen)
        if slot < self.size:
            self.values[slot] = value

    def merge(self, other: Reservoir) -> None:
        """Become a uniform sample of both streams together."""
        if not other.seen:
            return
        if len(self.values) + len(other.values) <= self.size:
            self.values.extend(other.values)
            self.seen += other.seen
            return
        # How many of the kept values come from each side: a draw without replacement from
        # the streams themselves (hypergeometric), then that many from each side's sample.
        remaining_mine, remaining_theirs = self.seen, other.seen
        from_mine = 0
        for _ in range(self.size):
            if self.rng.random() * (remaining_mine + remaining_theirs) < remaining_mine:
                from_mine += 1
                remaining_mine -= 1
            else:
                remaining_theirs -= 1
        merged = self.rng.sample(self.values, from_mine)
        merged += self.rng.sample(other.values, self.size - from_mine)
        self.values = merged
        self.seen += other.seen
