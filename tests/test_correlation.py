"""Pearson correlation, Student's t tail and Benjamini-Hochberg against SciPy's implementations."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats  # type: ignore[import-untyped]

from django_profilecmds.analysis.correlation import (
    Correlation,
    benjamini_hochberg,
    first_differences,
    pearson,
    t_two_sided_p,
)


def test_first_differences_are_the_changes_between_neighbours():
    assert first_differences([3, 5, 4, 4, 10]) == [2.0, -1.0, 0.0, 6.0]
    assert first_differences([7]) == []
    assert first_differences([]) == []


def test_pearson_worked_by_hand():
    # x = 1..5, y = 2 4 5 4 5: dx = -2 -1 0 1 2, dy = -2 0 1 0 1; sxy = 6, sxx = 10, syy = 6.
    # r = 6 / sqrt(60) = 0.774597; t = r * sqrt(3 / (1 - 0.6)) = 2.12132; p = 0.12402.
    result = pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])
    assert result.n == 5
    assert result.r == pytest.approx(6 / math.sqrt(60), rel=1e-14)
    assert result.t == pytest.approx(math.sqrt(4.5), rel=1e-14)
    assert result.p_value == pytest.approx(0.1240, abs=1e-4)


def series(length):
    values = st.floats(-1e6, 1e6, allow_nan=False) | st.integers(-20, 20).map(float)
    return st.lists(values, min_size=length, max_size=length)


paired_series = st.integers(3, 40).flatmap(lambda n: st.tuples(series(n), series(n)))


@settings(max_examples=100, deadline=None)
@given(paired_series)
def test_pearson_agrees_with_scipy(pair):
    x, y = pair
    assume(len(set(x)) > 1 and len(set(y)) > 1)
    # Nearly constant inputs (SciPy warns) leave r at the mercy of rounding in both.
    spread_x, spread_y = max(x) - min(x), max(y) - min(y)
    assume(spread_x > 1e-6 * max(map(abs, x)) and spread_y > 1e-6 * max(map(abs, y)))
    ours, theirs = pearson(x, y), stats.pearsonr(x, y)
    assert ours.r == pytest.approx(theirs.statistic, rel=1e-9, abs=1e-12)
    # p is ill-conditioned in r as |r| -> 1; compare where a rounding of r cannot move it.
    if 1 - theirs.statistic**2 > 1e-3:
        assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)


@pytest.mark.parametrize("rho", [0.0, 0.1, 0.3, 0.5, 0.7, -0.7])
def test_pearson_agrees_with_scipy_far_in_the_tail(rho):
    # n = 2000: p down to ~1e-300 at r = 0.7, where a t-to-normal shortcut or 1 - cdf would be
    # 0.0 or wrong by orders of magnitude.
    rng = random.Random(42)
    x = [rng.gauss(0, 1) for _ in range(2000)]
    y = [rho * a + math.sqrt(1 - rho * rho) * rng.gauss(0, 1) for a in x]
    ours, theirs = pearson(x, y), stats.pearsonr(x, y)
    assert ours.r == pytest.approx(theirs.statistic, rel=1e-12)
    assert theirs.pvalue > 0
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)
    if abs(rho) == 0.7:
        assert ours.p_value < 1e-280


def test_a_constant_series_has_no_movement_to_correlate():
    assert pearson([1, 2, 3, 4], [5, 5, 5, 5]) == Correlation(r=0.0, p_value=1.0, n=4, t=0.0)
    assert pearson([2.5] * 3, [1, 7, 3]).p_value == 1.0


def test_a_perfect_line_has_p_zero():
    up = pearson([1, 2, 3, 4], [10, 20, 30, 40])
    down = pearson([1, 2, 3, 4], [4, 3, 2, 1])
    assert (up.r, up.p_value, up.t) == (1.0, 0.0, math.inf)
    assert (down.r, down.p_value) == (-1.0, 0.0)


def test_huge_and_tiny_values_do_not_overflow_or_underflow():
    x = [1.0, 2.0, 3.0, 5.0]
    y = [2.0, 1.0, 4.0, 3.0]
    reference = pearson(x, y)
    for scale in (1e-200, 1e200):
        scaled = pearson([v * scale for v in x], [v * scale for v in y])
        assert scaled.r == pytest.approx(reference.r, rel=1e-12)
    # A large offset: the two-pass sums keep r exact where one-pass sums would cancel.
    shifted = pearson([v + 1e9 for v in x], [v + 1e9 for v in y])
    assert shifted.r == pytest.approx(reference.r, rel=1e-9)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        ([1, 2, 3], [1, 2], "equal length"),
        ([1, 2], [3, 4], "at least 3"),
        ([1, math.nan, 3], [1, 2, 3], "finite"),
        ([1, 2, 3], [1, math.inf, 3], "finite"),
    ],
)
def test_bad_series_are_refused(x, y, message):
    with pytest.raises(ValueError, match=message):
        pearson(x, y)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(1, 1e6) | st.integers(1, 1000).map(float),
    st.floats(0, 1e3) | st.floats(0, 1e-3),
)
def test_t_tail_agrees_with_scipy(df, t):
    ours, theirs = t_two_sided_p(t, df), 2 * stats.t.sf(t, df)
    assert t_two_sided_p(-t, df) == ours
    if theirs > 0.99:
        # Near p = 1 SciPy's df = 1 tail is good to ~5e-9 absolute only (see the exact test).
        assert ours == pytest.approx(theirs, abs=1e-8)
    elif theirs < 1e-295:  # subnormal or underflowed in SciPy: no relative precision to hold
        assert ours < 1e-290
    else:
        assert ours == pytest.approx(theirs, rel=1e-9)


@pytest.mark.parametrize("t", [0.0, 1e-8, 1e-3, 0.3, 2.0, 50.0, 1e3, 1e200])
def test_t_tail_matches_the_closed_forms_for_one_and_two_degrees_of_freedom(t):
    # df = 1 is the Cauchy distribution, df = 2 has P(|T| > t) = 1 - t / sqrt(2 + t^2).
    cauchy = 2 / math.pi * math.atan(1 / t) if t else 1.0
    assert t_two_sided_p(t, 1) == pytest.approx(cauchy, rel=1e-13)
    root = math.sqrt(2 + t * t)
    two = 2 / (root * (root + t))  # 1 - t / root without the cancellation
    assert t_two_sided_p(t, 2) == pytest.approx(two, rel=1e-9)


@pytest.mark.parametrize(("t", "df"), [(10.0, 1e6), (30.0, 1e6), (5.0, 3e5), (40.0, 50.0)])
def test_t_tail_agrees_with_scipy_far_in_the_tail_for_many_degrees_of_freedom(t, df):
    theirs = 2 * stats.t.sf(t, df)
    assert 0 < theirs < 1e-6
    assert t_two_sided_p(t, df) == pytest.approx(theirs, rel=1e-9)


def test_t_tail_refuses_nonsense():
    with pytest.raises(ValueError, match="df > 0"):
        t_two_sided_p(1.0, 0)
    with pytest.raises(ValueError, match="df > 0"):
        t_two_sided_p(math.nan, 3)
    assert t_two_sided_p(math.inf, 3) == 0.0


probabilities = st.floats(0, 1) | st.sampled_from([0.0, 0.01, 0.05, 0.5, 1.0])


@settings(max_examples=100, deadline=None)
@given(st.lists(probabilities, min_size=1, max_size=60))
def test_benjamini_hochberg_agrees_with_scipy(ps):
    theirs = stats.false_discovery_control(ps, method="bh")
    assert benjamini_hochberg(ps) == pytest.approx(list(theirs), rel=1e-12, abs=1e-300)


def test_benjamini_hochberg_worked_by_hand():
    # Sorted 0.01 0.02 0.03 0.5 times m / i = 0.04 0.04 0.04 0.5; back in the input order.
    assert benjamini_hochberg([0.5, 0.01, 0.03, 0.02]) == pytest.approx([0.5, 0.04, 0.04, 0.04])
    assert benjamini_hochberg([]) == []


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan])
def test_benjamini_hochberg_refuses_values_that_are_not_p_values(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        benjamini_hochberg([0.2, bad])


def test_a_planted_linear_relation_is_found():
    rng = random.Random(2026)  # fixed: the outcome is deterministic
    load = [rng.uniform(0, 10) for _ in range(100)]
    latency = [20 + 3 * value + rng.gauss(0, 8) for value in load]
    result = pearson(load, latency)
    assert result.r > 0.5
    assert result.p_value < 1e-6


def test_benjamini_hochberg_calls_independent_noise_insignificant():
    rng = random.Random(2026)
    target = [rng.gauss(0, 1) for _ in range(120)]
    noise = [[rng.gauss(0, 1) for _ in range(120)] for _ in range(50)]
    raw = [pearson(target, other).p_value for other in noise]
    adjusted = benjamini_hochberg(raw)
    assert sum(q <= 0.05 for q in adjusted) <= 1
    # With one real relation among the noise, it alone survives.
    planted = [value + rng.gauss(0, 1) for value in target]
    adjusted = benjamini_hochberg([*raw, pearson(target, planted).p_value])
    assert [index for index, q in enumerate(adjusted) if q <= 0.05] == [50]


def test_first_differences_keep_two_drifting_series_from_looking_related():
    rng = random.Random(2026)
    a = [0.5 * step + rng.gauss(0, 1) for step in range(200)]
    b = [0.3 * step + rng.gauss(0, 1) for step in range(200)]
    assert pearson(a, b).p_value < 1e-10  # both merely grow
    assert pearson(first_differences(a), first_differences(b)).p_value > 0.05
