"""Verdicts of an A/B replay from paired requests."""

from __future__ import annotations

import random

import pytest
from scipy import stats  # type: ignore[import-untyped]

from django_profilecmds.analysis.compare import NO_CHANGE, SLOWER
from django_profilecmds.analysis.paired import OVERALL, RequestTiming, paired_verdicts


def pairs(seed: int, factor: float, count: int = 80) -> list[tuple[RequestTiming, RequestTiming]]:
    """Pairs whose two sides share the machine's drift (each pair's own speed), B ``factor``
    times A's work, each with a little noise of its own."""
    rng = random.Random(seed)
    made = []
    for _ in range(count):
        drift = rng.uniform(1.0, 2.0)  # the machine's load while the pair ran
        a = 0.003 * drift * rng.lognormvariate(0, 0.03)
        b = 0.003 * factor * drift * rng.lognormvariate(0, 0.03)
        made.append(
            (RequestTiming(a * 1.1, a, 0.0002, 200), RequestTiming(b * 1.1, b, 0.0002, 200))
        )
    return made


def test_a_slowed_view_is_slower_and_an_unchanged_one_is_not_whatever_the_drift():
    rows = {"tunable": pairs(1, 1.3), "steady": pairs(2, 1.0)}
    changes = {change.view: change for change in paired_verdicts(rows, "cpu", 0.01, 0.05)}
    assert changes["tunable"].verdict == SLOWER
    assert changes["tunable"].change == pytest.approx(0.3, abs=0.03)
    assert changes["steady"].verdict == NO_CHANGE
    assert changes[OVERALL].pairs == 160
    # The p-value is SciPy's test of the same differences; q is it adjusted across the views.
    differences = [b.cpu - a.cpu for a, b in rows["tunable"]]
    assert changes["tunable"].p_value == pytest.approx(stats.wilcoxon(differences).pvalue)
    assert changes["steady"].q_value >= changes["steady"].p_value


def test_the_verdict_is_on_the_metric_asked_for():
    slower_wall = [
        (
            RequestTiming(0.010, 0.003, 0.0, 200),
            RequestTiming(0.010 * 1.5 + i * 1e-6, 0.003, 0.0, 200),
        )
        for i in range(30)
    ]
    assert paired_verdicts({"v": slower_wall}, "wall", 0.01, 0.05)[0].verdict == SLOWER
    assert paired_verdicts({"v": slower_wall}, "cpu", 0.01, 0.05)[0].verdict == NO_CHANGE


def test_on_a_machine_whose_speed_comes_and_goes_the_pairs_change_is_the_one_shown():
    """Half the pairs ran twice as slow (another process had the CPU): the medians of each side
    fall between the two speeds, wherever the mixture puts them; each pair's change does not."""
    rows = {"v": [*pairs(3, 1.3, count=41), *pairs(4, 1.3, count=39)]}
    rows["v"] = [
        (RequestTiming(a.wall * 2, a.cpu * 2, a.db, 200), b) if i < 3 else (a, b)
        for i, (a, b) in enumerate(rows["v"])
    ]
    (change, _overall) = paired_verdicts(rows, "cpu", 0.01, 0.05)
    assert change.cpu_change == change.change == pytest.approx(0.3, abs=0.03)
    assert change.wall_change == pytest.approx(0.3, abs=0.03)
