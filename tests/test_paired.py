"""Verdicts of an A/B replay from paired requests."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats  # type: ignore[import-untyped]

from django_profilecmds.analysis.compare import FASTER, NO_CHANGE, SLOWER
from django_profilecmds.analysis.paired import OVERALL, TOO_FEW, RequestTiming, paired_verdicts


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
    # Without rounds each pair is a round: the p-value is SciPy's t-test of the pairs'
    # log(B / A); q is it adjusted across the views.
    ratios = [math.log(b.cpu / a.cpu) for a, b in rows["tunable"]]
    assert changes["tunable"].p_value == pytest.approx(stats.ttest_1samp(ratios, 0).pvalue)
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


def in_rounds(seed: int, factor: float, rounds: int = 6, size: int = 20):
    """Pairs sent in rounds, each round to a new pair of processes with a speed of their own:
    up to 12% either way on each side for the whole round. The pairs and each one's round."""
    rng = random.Random(seed)
    made, numbers = [], []
    for number in range(rounds):
        speed_a, speed_b = rng.uniform(0.88, 1.12), rng.uniform(0.88, 1.12)
        for a, b in pairs(rng.randrange(10**6), factor, count=size):
            made.append(
                (a, RequestTiming(b.wall * speed_b / speed_a, b.cpu * speed_b / speed_a, b.db, 200))
            )
            numbers.append(number)
    return made, numbers


def test_one_pair_of_processes_luck_is_not_a_change_but_a_real_one_is():
    steady, steady_rounds = in_rounds(5, 1.0)
    tunable, tunable_rounds = in_rounds(6, 1.3)
    rows = {"steady": steady, "tunable": tunable}
    rounds = {"steady": steady_rounds, "tunable": tunable_rounds}
    changes = {c.view: c for c in paired_verdicts(rows, "cpu", 0.01, 0.05, rounds)}
    assert changes["tunable"].verdict == SLOWER and changes["tunable"].rounds == 6
    assert changes["steady"].verdict == NO_CHANGE
    # Each round's pairs agree with each other on their processes' luck: taken as independent
    # pairs, the unchanged view's rounds add up to a "change".
    as_pairs = {c.view: c for c in paired_verdicts({"steady": steady}, "cpu", 0.01, 0.0)}
    assert as_pairs["steady"].verdict in (SLOWER, FASTER)
    assert as_pairs["steady"].p_value < 1e-6 < changes["steady"].p_value


def test_a_view_of_fewer_than_three_rounds_is_not_tested():
    few, few_rounds = in_rounds(7, 1.5, rounds=2)
    many, many_rounds = in_rounds(8, 1.0)
    rows, rounds = {"few": few, "many": many}, {"few": few_rounds, "many": many_rounds}
    changes = {c.view: c for c in paired_verdicts(rows, "cpu", 0.01, 0.05, rounds)}
    assert changes["few"].verdict == TOO_FEW and math.isnan(changes["few"].p_value)
    assert changes["few"].change == pytest.approx(0.5, abs=0.2)  # still shown
    assert changes["many"].q_value == changes["many"].p_value  # one view tested, not two


def test_the_overall_verdict_weighs_each_view_by_its_time():
    """A view of most of the time 30% slower and a quick one unchanged: overall, slower, and
    the overall row's A and B are the means per request."""
    heavy, heavy_rounds = in_rounds(9, 1.3)
    light, light_rounds = in_rounds(10, 1.0)
    light = [
        (
            RequestTiming(a.wall / 20, a.cpu / 20, a.db, 200),
            RequestTiming(b.wall / 20, b.cpu / 20, b.db, 200),
        )
        for a, b in light
    ]
    rows = {"heavy": heavy, "light": light}
    rounds = {"heavy": [n + 100 for n in heavy_rounds], "light": light_rounds}
    overall = paired_verdicts(rows, "cpu", 0.01, 0.05, rounds)[-1]
    assert overall.view == OVERALL and overall.verdict == SLOWER and overall.rounds == 12
    every = [pair for pairs in rows.values() for pair in pairs]
    assert overall.median_a == pytest.approx(sum(a.cpu for a, _b in every) / len(every))
