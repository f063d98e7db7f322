"""Student's t-tests of an A/B replay's rounds, against SciPy's implementation."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats  # type: ignore[import-untyped]

from django_profilecmds.analysis.pairedtests import one_sample_t, weighted_t

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, min_size=2, max_size=60).filter(lambda v: len(set(v)) > 1))
def test_one_sample_t_agrees_with_scipy(values):
    ours, theirs = one_sample_t(values), stats.ttest_1samp(values, 0.0)
    if not math.isfinite(theirs.statistic):  # a spread lost to rounding: both say "no spread"
        return
    assert ours.t == pytest.approx(theirs.statistic, rel=1e-9, abs=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-7, abs=1e-14)
    assert ours.df == theirs.df == len(values) - 1


def test_one_sample_t_far_in_the_tail_agrees_with_scipy():
    values = [0.30 + 0.001 * (i % 7) for i in range(12)]
    ours, theirs = one_sample_t(values), stats.ttest_1samp(values, 0.0)
    assert theirs.pvalue < 1e-15
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-6)


def test_values_with_no_spread_are_no_evidence_or_all_of_it():
    assert one_sample_t([0.0, 0.0, 0.0]).p_value == 1.0
    same = one_sample_t([0.2, 0.2, 0.2])
    assert same.p_value == 0.0 and same.t == math.inf


@pytest.mark.parametrize("bad", [[1.0], [], [1.0, math.nan], [math.inf, 1.0]])
def test_too_few_or_non_finite_values_are_refused(bad):
    with pytest.raises(ValueError, match="two finite"):
        one_sample_t(bad)


def test_one_stratum_is_the_one_sample_test():
    values = [0.1, 0.3, -0.05, 0.2, 0.15]
    ours, single = weighted_t([(1.0, values)]), one_sample_t(values)
    assert (ours.t, ours.df) == pytest.approx((single.t, single.df))
    assert ours.p_value == pytest.approx(single.p_value, rel=1e-12)


def test_weighted_strata_worked_by_hand():
    """Two strata: the estimate is the weighted sum of their means, its variance the weighted
    sum of the variances of those means, its degrees of freedom Welch-Satterthwaite's."""
    a, b = [0.2, 0.3, 0.25, 0.35], [0.0, 0.1, -0.1]
    ours = weighted_t([(0.75, a), (0.25, b)])
    mean_a, mean_b = sum(a) / 4, sum(b) / 3
    var_a = sum((v - mean_a) ** 2 for v in a) / 3 / 4
    var_b = sum((v - mean_b) ** 2 for v in b) / 2 / 3
    estimate = 0.75 * mean_a + 0.25 * mean_b
    parts = (0.75**2 * var_a, 0.25**2 * var_b)
    variance = sum(parts)
    df = variance**2 / (parts[0] ** 2 / 3 + parts[1] ** 2 / 2)
    t = estimate / math.sqrt(variance)
    assert ours.mean == pytest.approx(estimate)
    assert ours.t == pytest.approx(t)
    assert ours.p_value == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-9)


def test_a_thirty_percent_slowdown_in_five_rounds_is_found_and_no_change_is_not():
    """Five rounds, each with a process speed of its own (up to 8% either way on each side):
    what the verdict of a view with 100 pairs has to go on."""
    rng = random.Random(2026)

    def rounds(factor):
        return [
            math.log(factor) + math.log(rng.uniform(0.92, 1.08) / rng.uniform(0.92, 1.08))
            for _ in range(5)
        ]

    assert one_sample_t(rounds(1.3)).p_value < 0.001
    assert one_sample_t(rounds(1.0)).p_value > 0.05
