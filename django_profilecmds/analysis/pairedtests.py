"""Tests of paired measurements: did the same requests get slower after a change?

An A/B replay's measurements come in rounds, and only the rounds are independent of each
other (see :mod:`django_profilecmds.analysis.paired`): a view has a handful of rounds' effects,
not hundreds of pairs, so the test is Student's t, which a handful of values can support
(a rank test of 5 values cannot reach p < 0.06).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class OneSampleT:
    """A two-sided one-sample Student's t-test: is the mean of the values zero?"""

    t: float  # mean / (sd / sqrt(n)); > 0 when the values lean positive
    df: int  # n - 1
    p_value: float  # two-sided
    n: int
    mean: float


def one_sample_t(values: Sequence[float]) -> OneSampleT:
    """The test as ``scipy.stats.ttest_1samp(values, 0)``. Values that are all equal have no
    spread to measure the mean against: all zero is no evidence (p 1.0); all the same non-zero
    value is the strongest there is (t infinite, p 0.0), where SciPy gives NaN. Raises
    ValueError for fewer than two values, a NaN or an infinity."""
    from django_profilecmds.analysis.correlation import t_two_sided_p

    data = [float(value) for value in values]
    if len(data) < 2 or not all(math.isfinite(value) for value in data):
        raise ValueError("The t-test needs at least two finite values.")
    n = len(data)
    mean = math.fsum(data) / n
    spread = max(data) != min(data)  # the mean of equal values may round away from them
    variance = math.fsum((value - mean) ** 2 for value in data) / (n - 1) if spread else 0.0
    if variance == 0:
        if mean == 0:
            return OneSampleT(t=0.0, df=n - 1, p_value=1.0, n=n, mean=mean)
        return OneSampleT(t=math.copysign(math.inf, mean), df=n - 1, p_value=0.0, n=n, mean=mean)
    t = mean / math.sqrt(variance / n)
    return OneSampleT(t=t, df=n - 1, p_value=t_two_sided_p(t, n - 1), n=n, mean=mean)


def weighted_t(strata: Sequence[tuple[float, Sequence[float]]]) -> OneSampleT:
    """Is the weighted sum of the strata's means zero? Each stratum is (weight, its values, at
    least two): the estimate is sum(w * mean), its variance sum(w^2 * var / n), and the degrees
    of freedom Welch-Satterthwaite's, so that one stratum is :func:`one_sample_t` exactly. The
    ``mean`` returned is the estimate; ``n`` counts the values of every stratum."""
    from django_profilecmds.analysis.correlation import t_two_sided_p

    tests = [(weight, one_sample_t(values), len(values)) for weight, values in strata]
    if not tests:
        raise ValueError("The t-test needs at least one stratum.")
    estimate = math.fsum(weight * test.mean for weight, test, _n in tests)
    parts = []  # each stratum's share of the estimate's variance, w^2 * var / n
    for (weight, _test, n), (_weight, values) in zip(tests, strata, strict=True):
        mean = math.fsum(values) / n
        parts.append(weight**2 * math.fsum((v - mean) ** 2 for v in values) / (n - 1) / n)
    variance = math.fsum(parts)
    n = sum(count for _weight, _test, count in tests)
    if variance == 0:
        p_value = 1.0 if estimate == 0 else 0.0
        t = 0.0 if estimate == 0 else math.copysign(math.inf, estimate)
        return OneSampleT(t=t, df=n - len(tests), p_value=p_value, n=n, mean=estimate)
    df = variance**2 / math.fsum(
        part**2 / test.df for part, (_weight, test, _n) in zip(parts, tests, strict=True) if part
    )
    t = estimate / math.sqrt(variance)
    return OneSampleT(t=t, df=round(df), p_value=t_two_sided_p(t, df), n=n, mean=estimate)
