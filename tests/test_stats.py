from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_profilecmds.analysis.stats import percentile, summarise


def test_summary_of_known_values():
    summary = summarise([5.0, 1.0, 4.0, 2.0, 3.0])
    assert (summary.min, summary.median, summary.max, summary.mean) == (1.0, 3.0, 5.0, 3.0)
    assert summary.p95 == pytest.approx(4.8)  # NumPy's linear method gives 4.8 as well
    assert summary.stdev == pytest.approx(1.5811388, rel=1e-6)


def test_single_run_has_zero_spread():
    summary = summarise([0.25])
    assert summary.stdev == 0.0 and summary.p95 == summary.median == 0.25


@given(st.lists(st.floats(0, 1e3), min_size=2, max_size=50))
def test_percentile_agrees_with_statistics_quantiles(values):
    ordered = sorted(values)
    # statistics.quantiles(method="inclusive") is the same linear interpolation.
    expected = statistics.quantiles(ordered, n=20, method="inclusive")[-1]
    assert percentile(ordered, 0.95) == pytest.approx(expected, abs=1e-9)
