"""The Mann-Whitney U test against hand-worked examples and against SciPy's implementation."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu  # type: ignore[import-untyped]

from django_profilecmds.analysis.stats import mann_whitney_u


def scipy_test(x, y):
    return mannwhitneyu(x, y, use_continuity=True, alternative="two-sided", method="asymptotic")


def test_complete_separation_worked_by_hand():
    # U1 = 0, U2 = 25, mean 12.5, sigma = sqrt(5 * 5 / 12 * 11) = 4.7871;
    # z = (25 - 12.5 - 0.5) / 4.7871 = 2.5067; p = 2 * (1 - Phi(2.5067)) = 0.01219.
    result = mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert result.u == 0
    assert result.z == pytest.approx(2.5067, abs=1e-4)
    assert result.p_value == pytest.approx(0.01219, abs=1e-5)


def test_ties_worked_by_hand():
    # Pooled: 1 2 2 2 3 3 4 5; midranks 1, 3, 3, 3, 5.5, 5.5, 7, 8.
    # R1 = 1 + 3 + 3 + 5.5 = 12.5, U1 = 12.5 - 10 = 2.5, U2 = 13.5.
    # Ties: 3^3 - 3 + 2^3 - 2 = 30; var = 16 / 12 * (9 - 30 / 56) = 11.2857, sigma 3.3594.
    # z = (13.5 - 8 - 0.5) / 3.3594 = 1.4884; p = 2 * (1 - Phi(1.4884)) = 0.1367.
    result = mann_whitney_u([1, 2, 2, 3], [2, 3, 4, 5])
    assert result.u == 2.5
    assert result.z == pytest.approx(1.4884, abs=1e-4)
    assert result.p_value == pytest.approx(0.1367, abs=1e-4)


samples = st.lists(st.integers(0, 10), min_size=1, max_size=60) | st.lists(
    st.floats(0, 1, allow_nan=False), min_size=1, max_size=60
)


@settings(max_examples=200, deadline=None)
@given(samples, samples)
def test_agrees_with_scipy(x, y):
    ours, theirs = mann_whitney_u(x, y), scipy_test(x, y)
    assert ours.u == pytest.approx(theirs.statistic, rel=1e-12, abs=1e-12)
    if math.isnan(theirs.pvalue):  # SciPy gives NaN when every value is equal
        assert ours.p_value == 1.0
    else:
        assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-12)


def test_agrees_with_scipy_on_large_samples():
    rng = random.Random(7)
    x = [round(rng.lognormvariate(0, 0.3), 3) for _ in range(20_000)]
    y = [round(rng.lognormvariate(0.01, 0.3), 3) for _ in range(20_000)]
    ours, theirs = mann_whitney_u(x, y), scipy_test(x, y)
    assert ours.u == pytest.approx(theirs.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)


@pytest.mark.parametrize("shift", [0.7, 0.8, 1.2])
def test_agrees_with_scipy_far_in_the_tail(shift):
    # p from about 1e-16 down to 1e-44, where 1 - cdf(z) or 1 + erf(-z) cancels to nothing.
    rng = random.Random(11)
    x = [rng.gauss(0, 1) for _ in range(400)]
    y = [rng.gauss(shift, 1) for _ in range(400)]
    ours, theirs = mann_whitney_u(x, y), scipy_test(x, y)
    assert 0 < theirs.pvalue < 1e-12
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)


@given(samples, samples)
def test_swapping_the_samples_swaps_u_and_keeps_p(x, y):
    forward, backward = mann_whitney_u(x, y), mann_whitney_u(y, x)
    assert backward.u == pytest.approx(len(x) * len(y) - forward.u)
    assert backward.p_value == pytest.approx(forward.p_value)


def test_identical_constant_samples_show_no_difference():
    result = mann_whitney_u([3.0] * 10, [3.0] * 12)
    assert (result.p_value, result.z) == (1.0, 0.0)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        ([], [1.0], "at least one value"),
        ([1.0], [], "at least one value"),
        ([math.nan], [1.0], "NaN"),
    ],
)
def test_bad_samples_are_refused(x, y, message):
    with pytest.raises(ValueError, match=message):
        mann_whitney_u(x, y)


def test_a_shift_of_a_fifth_is_found_and_the_same_distribution_is_not():
    rng = random.Random(2026)  # fixed: the outcome is deterministic
    before = [rng.lognormvariate(0, 0.25) for _ in range(200)]
    slower = [1.2 * rng.lognormvariate(0, 0.25) for _ in range(200)]
    same = [rng.lognormvariate(0, 0.25) for _ in range(200)]
    assert mann_whitney_u(before, slower).p_value < 0.01
    assert mann_whitney_u(before, same).p_value > 0.01
