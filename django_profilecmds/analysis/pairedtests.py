"""Tests of paired measurements: did the same requests get slower after a change?"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# SciPy's method="auto": the exact null distribution up to this many differences (zeros
# included), the normal approximation above it.
_EXACT_MAX_LENGTH = 50
# With ties or zeros the exact distribution of integer ranks no longer applies; up to this many
# differences SciPy enumerates every sign pattern instead (2**13 fits its 9,999 resamples).
_ENUMERATED_MAX_LENGTH = 13


@dataclass(frozen=True)
class SignedRank:
    """A two-sided Wilcoxon signed-rank test: are paired differences centred on zero?"""

    statistic: float  # min(W+, W-), as scipy.stats.wilcoxon reports it for two-sided
    z: float  # (W+ - mean) / sd with tie-corrected sd: > 0 when the differences lean positive
    p_value: float  # two-sided
    n: int  # non-zero differences (the ones ranked)
    zeros: int  # zero differences, dropped before ranking
    exact: bool  # True: p from the exact null distribution; False: normal approximation


def signed_rank(differences: Sequence[float]) -> SignedRank:
    """The test as ``scipy.stats.wilcoxon(differences)`` with its defaults: zeros dropped
    (zero_method="wilcox"), no continuity correction, and method="auto", which takes the
    exact distribution of the rank sum for up to 50 differences without ties or zeros, every
    sign pattern of the tied ranks for up to 13 differences with ties or zeros, and the
    normal approximation with tie-corrected variance otherwise. O(n log n) in that last case.

    When every difference is zero there is nothing to rank: statistic 0, p-value 1.0 (SciPy
    gives NaN above 13 differences). Raises ValueError on a NaN or an infinity."""
    values = [float(value) for value in differences]
    if not all(math.isfinite(value) for value in values):
        raise ValueError("The signed-rank test needs finite differences (no NaN or infinity).")
    length = len(values)
    nonzero = sorted((value for value in values if value != 0), key=abs)
    n = len(nonzero)
    zeros = length - n
    if n == 0:
        return SignedRank(statistic=0.0, z=0.0, p_value=1.0, n=0, zeros=zeros, exact=True)
    # Twice the midranks, so that every rank (and rank sum) is an exact integer.
    doubled_ranks: list[int] = []
    positive_sum = 0  # twice W+
    ties = 0  # sum of t^3 - t over groups of t equal |differences|
    start = 0
    while start < n:
        end = start
        while end + 1 < n and abs(nonzero[end + 1]) == abs(nonzero[start]):
            end += 1
        doubled = start + end + 2  # 2 * midrank, ranks 1-based
        size = end - start + 1
        doubled_ranks.extend([doubled] * size)
        positive_sum += doubled * sum(1 for index in range(start, end + 1) if nonzero[index] > 0)
        ties += size**3 - size
        start = end + 1
    w_plus = positive_sum / 2
    w_minus = n * (n + 1) / 2 - w_plus
    mean = n * (n + 1) / 4
    sd = math.sqrt((n * (n + 1) * (2 * n + 1) - ties / 2) / 24)
    z = (w_plus - mean) / sd
    statistic = min(w_plus, w_minus)
    exact = length <= _EXACT_MAX_LENGTH and (
        (ties == 0 and zeros == 0) or length <= _ENUMERATED_MAX_LENGTH
    )
    if exact:
        p_value = _exact_two_sided(doubled_ranks, positive_sum)
    else:
        # 2 * sf(|z|) = erfc(|z| / sqrt(2)), which keeps relative precision in the far tail.
        p_value = min(math.erfc(abs(z) / math.sqrt(2)), 1.0)
    return SignedRank(statistic=statistic, z=z, p_value=p_value, n=n, zeros=zeros, exact=exact)


def _exact_two_sided(doubled_ranks: list[int], observed: int) -> float:
    """2 * min(P(S <= observed), P(S >= observed)) for S the sum of the ranks given a plus
    sign, each sign equally likely: counted exactly by dynamic programming over rank sums."""
    total = sum(doubled_ranks)
    counts = [0] * (total + 1)  # counts[s]: sign patterns whose positive ranks sum to s
    counts[0] = 1
    reach = 0
    for rank in doubled_ranks:
        reach += rank
        for s in range(reach, rank - 1, -1):
            counts[s] += counts[s - rank]
    patterns = 1 << len(doubled_ranks)
    at_most = sum(counts[: observed + 1])
    at_least = sum(counts[observed:])
    return min(2 * min(at_most, at_least) / patterns, 1.0)
