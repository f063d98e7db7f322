"""Summary statistics of repeated runs."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    count: int
    min: float
    median: float
    p95: float
    max: float
    mean: float
    stdev: float


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (NumPy's default method)."""
    if not sorted_values:
        raise ValueError("percentile() of an empty list")
    position = (len(sorted_values) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    weight = position - low
    return sorted_values[low] * (1 - weight) + sorted_values[high] * weight


def summarise(values: list[float]) -> Summary:
    ordered = sorted(values)
    return Summary(
        count=len(ordered),
        min=ordered[0],
        median=statistics.median(ordered),
        p95=percentile(ordered, 0.95),
        max=ordered[-1],
        mean=statistics.fmean(ordered),
        stdev=statistics.stdev(ordered) if len(ordered) > 1 else 0.0,
    )


@dataclass(frozen=True)
class MannWhitney:
    """A two-sided Mann-Whitney U test: do two samples come from the same distribution?"""

    u: float  # U statistic of the first sample, as scipy.stats.mannwhitneyu reports it
    z: float  # normal deviate, continuity- and tie-corrected (0.0 when the variance is 0)
    p_value: float  # two-sided
    n_x: int
    n_y: int


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> MannWhitney:
    """The test with the normal approximation, tie correction and continuity correction:
    ``scipy.stats.mannwhitneyu(x, y, method="asymptotic")``, in O(n log n) with the standard
    library only."""
    n_x, n_y = len(x), len(y)
    if not n_x or not n_y:
        raise ValueError("The Mann-Whitney U test needs at least one value in each sample.")
    pooled = sorted([(float(v), 0) for v in x] + [(float(v), 1) for v in y])
    if any(math.isnan(value) for value, _side in pooled):
        raise ValueError("The Mann-Whitney U test cannot rank NaN values.")
    n = n_x + n_y
    rank_sum_x = 0.0
    ties = 0.0  # sum of t^3 - t over groups of t equal values
    start = 0
    while start < n:
        end = start
        while end + 1 < n and pooled[end + 1][0] == pooled[start][0]:
            end += 1
        midrank = (start + end) / 2 + 1  # ranks are 1-based
        in_x = sum(1 for index in range(start, end + 1) if pooled[index][1] == 0)
        rank_sum_x += midrank * in_x
        size = end - start + 1
        ties += size**3 - size
        start = end + 1
    u_x = rank_sum_x - n_x * (n_x + 1) / 2
    u = max(u_x, n_x * n_y - u_x)
    mean = n_x * n_y / 2
    variance = n_x * n_y / 12 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    if variance <= 0:
        return MannWhitney(u_x, 0.0, 1.0, n_x, n_y)
    z = (u - mean - 0.5) / math.sqrt(variance)
    # 2 * sf(z) = erfc(z / sqrt(2)). NormalDist().cdf(-z) computes 0.5 * (1 + erf(-z / sqrt(2))),
    # which cancels to 0.0 in the far tail (z > 8.3); erfc keeps full relative precision.
    p_value = min(max(math.erfc(z / math.sqrt(2)), 0.0), 1.0)
    return MannWhitney(u_x, z, p_value, n_x, n_y)
