"""Does one series move with another? Pearson correlation, Student's t tail and FDR control."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_CF_MAX_ITERATIONS = 100_000
_CF_EPSILON = 1e-16
_CF_TINY = 1e-300


def first_differences(values: Sequence[float]) -> list[float]:
    """y'(t) = y(t) - y(t-1): the changes between neighbours, one fewer than the values.

    Correlating differences rather than levels keeps two series that merely both drift from
    looking related."""
    return [float(after) - float(before) for before, after in zip(values, values[1:], strict=False)]


@dataclass(frozen=True)
class Correlation:
    """Pearson's r of two series and its two-sided p-value."""

    r: float  # in [-1, 1]
    p_value: float  # two-sided, from Student's t with n - 2 degrees of freedom
    n: int  # number of pairs
    t: float  # Student's statistic r * sqrt((n - 2) / (1 - r^2)); infinite when |r| = 1


def pearson(x: Sequence[float], y: Sequence[float]) -> Correlation:
    """Pearson's correlation and its two-sided p-value, as ``scipy.stats.pearsonr(x, y)``.

    When either series is constant there is no movement to correlate: r is 0.0 and the
    p-value 1.0 (SciPy returns NaN with a warning). Raises ValueError when the series differ
    in length, have fewer than 3 pairs, or hold a NaN or an infinity."""
    n = len(x)
    if len(y) != n:
        raise ValueError(f"Pearson correlation needs series of equal length, not {n} and {len(y)}.")
    if n < 3:
        raise ValueError(f"Pearson correlation needs at least 3 pairs, not {n}.")
    xs = [float(value) for value in x]
    ys = [float(value) for value in y]
    if not all(math.isfinite(value) for value in xs + ys):
        raise ValueError("Pearson correlation needs finite values (no NaN or infinity).")
    # Two passes: subtracting the means first keeps the sums of squares from cancelling.
    x_mean, y_mean = math.fsum(xs) / n, math.fsum(ys) / n
    dx = [value - x_mean for value in xs]
    dy = [value - y_mean for value in ys]
    # Scaling by the largest deviation keeps squares of huge or tiny values representable.
    x_scale, y_scale = max(map(abs, dx)), max(map(abs, dy))
    if x_scale == 0 or y_scale == 0:
        return Correlation(r=0.0, p_value=1.0, n=n, t=0.0)
    dx = [value / x_scale for value in dx]
    dy = [value / y_scale for value in dy]
    sxx = math.fsum(value * value for value in dx)
    syy = math.fsum(value * value for value in dy)
    sxy = math.fsum(a * b for a, b in zip(dx, dy, strict=True))
    r = min(max(sxy / (math.sqrt(sxx) * math.sqrt(syy)), -1.0), 1.0)
    df = n - 2
    if abs(r) == 1.0:
        return Correlation(r=r, p_value=0.0, n=n, t=math.copysign(math.inf, r))
    # 1 - r^2 as (1 - r)(1 + r): no cancellation when r is close to +-1.
    one_minus_r2 = (1.0 - r) * (1.0 + r)
    t = r * math.sqrt(df / one_minus_r2)
    # df / (df + t^2) is exactly 1 - r^2; pass it directly rather than through t.
    p_value = _two_sided_from_beta(one_minus_r2, r * r, df, math.log(one_minus_r2))
    return Correlation(r=r, p_value=p_value, n=n, t=t)


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's T with df degrees of freedom: ``2 * scipy.stats.t.sf(|t|,
    df)``, with full relative precision far into the tail."""
    if math.isnan(t) or not df > 0:
        raise ValueError(f"Student's t needs a number and df > 0, not t={t!r}, df={df!r}.")
    if math.isinf(t):
        return 0.0
    if t == 0:
        return 1.0
    t2 = t * t
    if math.isinf(t2) or t2 > df * 1e300:
        # |t| above ~1e154: x = df / t^2 would overflow or underflow; its log does neither.
        log_x = math.log(df) - 2 * math.log(abs(t))
        return _two_sided_from_beta(math.exp(log_x), 1.0, df, log_x)
    x = df / (df + t2)
    return _two_sided_from_beta(x, t2 / (df + t2), df, math.log(x))


def _two_sided_from_beta(x: float, one_minus_x: float, df: float, log_x: float) -> float:
    """I_x(df/2, 1/2), the two-sided Student tail, with x = df / (df + t^2) and 1 - x given
    separately so neither is formed by a cancelling subtraction (and log x, which stays finite
    where x underflows)."""
    if one_minus_x == 0:
        return 1.0
    return min(_regularized_incomplete_beta(df / 2, 0.5, x, one_minus_x, log_x), 1.0)


def _regularized_incomplete_beta(
    a: float, b: float, x: float, one_minus_x: float, log_x: float
) -> float:
    """I_x(a, b) as Numerical Recipes' ``betai``: a log-space prefactor times Lentz's
    continued fraction, on whichever side of the mean the fraction converges fast."""
    log_prefactor = -_log_beta(a, b) + a * log_x + b * math.log(one_minus_x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_prefactor) * _beta_continued_fraction(a, b, x, one_minus_x) / a
    return 1.0 - math.exp(log_prefactor) * _beta_continued_fraction(b, a, one_minus_x, x) / b


def _log_beta(a: float, b: float) -> float:
    """log B(a, b). For large a, lgamma(a + b) - lgamma(a) would lose ~1e-9 absolute to
    cancellation (lgamma(5e5) is ~6e6); Stirling's series keeps the difference exact."""
    if a < 30:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    # lgamma(z) = (z - 1/2) log z - z + log(2 pi) / 2 + correction(z)
    log_gamma_ratio = (
        (a - 0.5) * math.log1p(b / a)
        + b * math.log(a + b)
        - b
        + _stirling_correction(a + b)
        - _stirling_correction(a)
    )  # lgamma(a + b) - lgamma(a)
    return math.lgamma(b) - log_gamma_ratio


def _stirling_correction(z: float) -> float:
    """lgamma(z) - ((z - 1/2) log z - z + log(2 pi) / 2), accurate to 1e-16 for z >= 30."""
    inverse = 1.0 / z
    square = inverse * inverse
    return inverse * (
        1 / 12 - square * (1 / 360 - square * (1 / 1260 - square * (1 / 1680 - square / 1188)))
    )


def _beta_continued_fraction(a: float, b: float, x: float, one_minus_x: float) -> float:
    """The continued fraction of I_x(a, b) by the modified Lentz method."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _CF_TINY:
        d = _CF_TINY
    d = 1.0 / d
    h = d
    for m in range(1, _CF_MAX_ITERATIONS + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < _CF_TINY:
            d = _CF_TINY
        c = 1.0 + aa / c
        if abs(c) < _CF_TINY:
            c = _CF_TINY
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < _CF_TINY:
            d = _CF_TINY
        c = 1.0 + aa / c
        if abs(c) < _CF_TINY:
            c = _CF_TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _CF_EPSILON:
            return h
    raise ArithmeticError(f"The incomplete beta fraction did not converge (a={a}, b={b}, x={x}).")


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order:
    ``scipy.stats.false_discovery_control(ps, method="bh")``.

    A test is significant at false discovery rate q when its adjusted value is <= q. Raises
    ValueError on a value outside [0, 1] or NaN."""
    m = len(p_values)
    ps = [float(p) for p in p_values]
    for p in ps:
        if not 0.0 <= p <= 1.0:  # also refuses NaN
            raise ValueError(f"p-values must lie in [0, 1], not {p!r}.")
    order = sorted(range(m), key=ps.__getitem__)
    adjusted = [0.0] * m
    running_min = 1.0
    for rank in range(m, 0, -1):  # from the largest p down: q_(i) = min over j >= i
        index = order[rank - 1]
        running_min = min(running_min, ps[index] * (m / rank))
        adjusted[index] = running_min
    return adjusted
