"""Summary statistics of repeated runs."""

from __future__ import annotations

import math
import statistics
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
