"""The Wilcoxon signed-rank test against hand-worked examples and against SciPy's implementation."""

from __future__ import annotations

import itertools
import math
import random
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata, wilcoxon  # type: ignore[import-untyped]

from django_profilecmds.analysis.pairedtests import SignedRank, signed_rank


def scipy_test(differences):
    with warnings.catch_warnings():  # SciPy warns about ties, zeros and small samples
        warnings.simplefilter("ignore")
        return wilcoxon(differences)


def assert_agrees_with_scipy(differences):
    ours, theirs = signed_rank(differences), scipy_test(differences)
    assert ours.statistic == theirs.statistic
    if math.isnan(theirs.pvalue):  # SciPy's answer when every difference is zero
        assert (ours.n, ours.p_value) == (0, 1.0)
    else:
        assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-14)


def test_exact_distribution_worked_by_hand():
    # Ranks 1..5, W- = 3, W+ = 12. Sign patterns with W- <= 3: {}, {1}, {2}, {3}, {1, 2}: 5 of
    # 32, so p = 2 * 5 / 32.
    result = signed_rank([1, 2, -3, 4, 5])
    assert result == SignedRank(statistic=3.0, z=result.z, p_value=0.3125, n=5, zeros=0, exact=True)
    assert result.z == pytest.approx((12 - 7.5) / math.sqrt(5 * 6 * 11 / 24))


def test_normal_approximation_with_ties_worked_by_hand():
    # 60 differences: |d| = 1 (x20, 10 negative), 2 (x20, all positive), 3 (x20, all positive).
    # Midranks 10.5, 30.5, 50.5; W- = 105, W+ = 1830 - 105 = 1725; mean 915.
    # var = (60 * 61 * 121 - 3 * (20^3 - 20) / 2) / 24 = 18452.5 - 498.75 = 17953.75.
    differences = [1.0] * 10 + [-1.0] * 10 + [2.0] * 20 + [3.0] * 20
    result = signed_rank(differences)
    assert (result.statistic, result.exact, result.n) == (105.0, False, 60)
    assert result.z == pytest.approx((1725 - 915) / math.sqrt(17953.75), rel=1e-12)
    assert result.p_value == pytest.approx(math.erfc(result.z / math.sqrt(2)), rel=1e-12)
    assert_agrees_with_scipy(differences)


nonzero = st.floats(-10, 10, allow_nan=False).filter(bool)
continuous = st.lists(nonzero, min_size=1, max_size=80, unique_by=abs)
# SciPy enumerates the sign patterns of 8 to 13 tied differences slowly (up to seconds): those
# lengths are checked against an enumeration of our own below.
tied = (st.integers(2, 7) | st.integers(14, 60)).flatmap(
    lambda n: st.lists(st.integers(-4, 5).map(float), min_size=n, max_size=n)
)


@settings(max_examples=200, deadline=None)
@given(continuous)
def test_agrees_with_scipy_without_ties(differences):
    assert_agrees_with_scipy(differences)


@settings(max_examples=60, deadline=None)  # SciPy enumerates sign patterns: slower
@given(tied)
def test_agrees_with_scipy_with_ties_and_zeros(differences):
    assert_agrees_with_scipy(differences)


def enumerated_p_value(differences):
    """Two-sided p of W+ over all 2^n sign patterns of the midranks, as SciPy's permutation
    test computes it for up to 13 differences with ties or zeros."""
    nonzero = np.array([value for value in differences if value != 0])
    ranks = rankdata(np.abs(nonzero))
    observed = ranks[nonzero > 0].sum()
    signs = np.array(list(itertools.product([0, 1], repeat=len(ranks))))
    null = signs @ ranks
    return min(1.0, 2 * min(np.mean(null <= observed), np.mean(null >= observed)))


@pytest.mark.parametrize("length", [10, 13])
def test_tied_small_samples_take_every_sign_pattern(length):
    rng = random.Random(length)
    with_ties = [float(round(rng.gauss(1, 1.5))) for _ in range(length)]
    assert 0.0 in with_ties and len(set(map(abs, with_ties))) < length
    result = signed_rank(with_ties)
    assert result.exact
    assert result.p_value == pytest.approx(enumerated_p_value(with_ties), rel=1e-12)


@pytest.mark.parametrize("length", [7, 14, 50, 51])
def test_agrees_with_scipy_either_side_of_its_method_switches(length):
    rng = random.Random(length)
    distinct = [rng.gauss(0.4, 1) for _ in range(length)]
    with_ties = [float(round(value)) for value in distinct]
    with_zero = [*distinct[:-1], 0.0]
    for differences in (distinct, with_ties, with_zero):
        assert_agrees_with_scipy(differences)
    assert signed_rank(distinct).exact is (length <= 50)
    assert signed_rank(with_zero).exact is (length <= 13)


def test_agrees_with_scipy_far_in_the_tail():
    rng = random.Random(11)
    differences = [rng.gauss(1.5, 1) for _ in range(300)]
    theirs = scipy_test(differences)
    assert 0 < theirs.pvalue < 1e-30
    assert_agrees_with_scipy(differences)
    # The exact distribution's smallest p: every one of 20 differences positive.
    assert signed_rank([rng.uniform(1, 2) for _ in range(20)]).p_value == 2 / 2**20


def test_agrees_with_scipy_on_a_hundred_thousand_differences():
    rng = random.Random(7)
    differences = [round(rng.gauss(0.01, 1), 2) for _ in range(100_000)]  # ties and zeros
    result = signed_rank(differences)
    assert result.zeros > 0
    assert result.n + result.zeros == 100_000
    assert_agrees_with_scipy(differences)


def test_zero_differences_are_dropped_before_ranking():
    with_zeros = signed_rank([0.0, 1.5, -0.5, 0.0, 2.5, 3.5, 0.0] * 10)
    without = signed_rank([1.5, -0.5, 2.5, 3.5] * 10)
    assert (with_zeros.n, with_zeros.zeros) == (40, 30)
    assert (with_zeros.statistic, with_zeros.z) == (without.statistic, without.z)


@pytest.mark.parametrize("length", [0, 3, 30])
def test_no_difference_at_all_is_no_evidence(length):
    result = signed_rank([0.0] * length)
    assert result == SignedRank(statistic=0.0, z=0.0, p_value=1.0, n=0, zeros=length, exact=True)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_differences_are_refused(bad):
    with pytest.raises(ValueError, match="finite"):
        signed_rank([1.0, bad, 2.0])


def test_z_says_which_way_the_differences_lean():
    assert signed_rank([1.0, 2.0, 3.0, -0.5]).z > 0
    assert signed_rank([-1.0, -2.0, -3.0, 0.5]).z < 0


def paired_timings(rng, slowdown):
    """Per request: a base time that varies widely across requests, measured before and after
    with run-to-run jitter, the after run slowed by the given factor."""
    before, after = [], []
    for _ in range(40):
        base = rng.lognormvariate(0, 0.8)
        before.append(base * rng.lognormvariate(0, 0.1))
        after.append(base * slowdown * rng.lognormvariate(0, 0.1))
    return [a - b for a, b in zip(after, before, strict=True)]


def test_a_thirty_percent_slowdown_is_found_and_no_change_is_not():
    # Fixed seeds: the outcome is deterministic.
    slower = signed_rank(paired_timings(random.Random(2026), 1.3))
    same = signed_rank(paired_timings(random.Random(2027), 1.0))
    assert slower.p_value < 0.001
    assert slower.z > 0
    assert same.p_value > 0.05
