"""Verdicts of an A/B replay: the same requests sent to two revisions of the project, in pairs.

Each recorded request is replayed once by A and once by B, one right after the other, so that
the load of the machine, caches warming and clock drift fall on both sides of a pair alike.
The pairs come in rounds, each round sent to a pair of processes of its own, and a process has
a speed of its own: the pairs of one round share it, so they are not independent measurements
of the change, and a test of the pairs would take one process's luck for a change (views of
unchanged code came out 5-15% slower or faster with p < 1e-9 that way). The rounds are. So a
round's effect is the median of its pairs' log(B / A) on the chosen metric, and a view's
verdict is Student's t-test of its rounds' effects (at least ``MIN_ROUNDS`` of them; fewer is
"too few rounds"). The views' p-values are adjusted for testing many views at once
(Benjamini-Hochberg), and, as ``--compare`` does, a change counts only when it is significant
at ``alpha`` and the median of the pairs' relative changes is at least ``min_change``.
Without rounds, each pair is a round.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django_profilecmds.analysis.compare import FASTER, NO_CHANGE, SLOWER

if TYPE_CHECKING:
    from django_profilecmds.analysis.pairedtests import OneSampleT

OVERALL = "(all requests)"
TOO_FEW = "too few rounds"
MIN_ROUNDS = 3  # rounds (with a positive time on both sides) a row needs to be tested


@dataclass(frozen=True)
class RequestTiming:
    """What one side of a pair cost."""

    wall: float
    cpu: float
    db: float
    status: int | None
    error: bool = False

    def metric(self, name: str) -> float:
        return {"wall": self.wall, "cpu": self.cpu, "db": self.db}[name]


Pair = tuple[RequestTiming, RequestTiming]  # (A, B)


@dataclass(frozen=True)
class PairedChange:
    view: str  # a row (a view, or a group of its requests), or OVERALL
    verdict: str
    pairs: int
    metric: str
    median_a: float  # of the metric; for OVERALL, the mean per request
    median_b: float
    change: float  # the median of the pairs' (B - A) / A; for OVERALL, of the totals
    rounds: int  # the rounds its pairs came in (their effects: medians of the pairs' log(B / A))
    p_value: float  # Student's t-test of the rounds' effects, two-sided; NaN: too few rounds
    q_value: float  # p adjusted across the views (Benjamini-Hochberg); OVERALL: p itself
    t: float  # > 0 when B leans slower
    wall_a: float
    wall_b: float
    cpu_a: float
    cpu_b: float
    db_a: float
    db_b: float
    errors_a: int  # 5xx, raised or refused
    errors_b: int
    # The change of each metric as ``change`` is of the verdict's: robust where the medians of
    # the sides are not (a machine whose speed comes and goes gives each side two modes).
    wall_change: float = 0.0
    cpu_change: float = 0.0
    db_change: float = 0.0


def paired_verdicts(
    rows: Mapping[str, Sequence[Pair]],
    metric: str,
    alpha: float,
    min_change: float,
    rounds: Mapping[str, Sequence[int]] | None = None,
) -> list[PairedChange]:
    """A verdict per row, the slower first, then the overall one (every pair of every row).
    ``rounds[row][i]`` is the round of the row's pair ``i``; without it each pair is a round."""
    from django_profilecmds.analysis.correlation import benjamini_hochberg

    def numbered(key: str) -> Sequence[int]:
        return rounds[key] if rounds is not None else range(len(rows[key]))

    effects = {key: _effects(pairs, numbered(key), metric) for key, pairs in rows.items() if pairs}
    tested = {key: (_tested(effects[key]), _median_change(rows[key], metric)) for key in effects}
    p_values = {key: test.p_value for key, (test, _change) in tested.items() if test is not None}
    q_values = dict(zip(p_values, benjamini_hochberg(list(p_values.values())), strict=True))
    changes = [
        _change(
            key,
            rows[key],
            (metric, len(set(numbered(key)))),
            tested[key],
            q_values.get(key, math.nan),
            alpha,
            min_change,
        )
        for key in tested
    ]
    order = {SLOWER: 0, FASTER: 1, NO_CHANGE: 2, TOO_FEW: 3}
    changes.sort(key=lambda change: (order[change.verdict], -abs(change.change)))
    every = [pair for pairs in rows.values() for pair in pairs]
    if every:
        test = _overall_test(rows, effects, metric)
        overall = (test, _total_change(every, metric))
        p_value = test.p_value if test is not None else math.nan
        rounds_sent = sum(len(set(numbered(key))) for key in rows)
        changes.append(
            _change(OVERALL, every, (metric, rounds_sent), overall, p_value, alpha, min_change)
        )
    return changes


def _effects(pairs: Sequence[Pair], numbers: Sequence[int], metric: str) -> list[float]:
    """Each round's effect: the median of its pairs' log(B / A), where both took time."""
    ratios: dict[int, list[float]] = {}
    for (a, b), number in zip(pairs, numbers, strict=True):
        before, after = a.metric(metric), b.metric(metric)
        if before > 0 and after > 0:
            ratios.setdefault(number, []).append(math.log(after / before))
    return [statistics.median(values) for values in ratios.values()]


def _tested(effects: list[float]) -> OneSampleT | None:
    """The t-test of the rounds' effects, or None with fewer than ``MIN_ROUNDS``."""
    from django_profilecmds.analysis.pairedtests import one_sample_t

    return one_sample_t(effects) if len(effects) >= MIN_ROUNDS else None


def _overall_test(
    rows: Mapping[str, Sequence[Pair]], effects: Mapping[str, list[float]], metric: str
) -> OneSampleT | None:
    """Of the change of the total: the rows' mean effects weighted by their share of A's
    time, each row's rounds measuring only its own (a round holds one row's pairs)."""
    from django_profilecmds.analysis.pairedtests import weighted_t

    strata = [
        (sum(a.metric(metric) for a, _b in rows[key]), row_effects)
        for key, row_effects in effects.items()
        if len(row_effects) >= MIN_ROUNDS
    ]
    total = sum(weight for weight, _effects in strata)
    if not strata or total <= 0:
        return None
    return weighted_t([(weight / total, row_effects) for weight, row_effects in strata])


def _median_change(pairs: Sequence[Pair], metric: str) -> float:
    """The median of the pairs' relative changes, (B - A) / A, of those where A took time."""
    relative = [
        (b.metric(metric) - a.metric(metric)) / a.metric(metric)
        for a, b in pairs
        if a.metric(metric) > 0
    ]
    return statistics.median(relative) if relative else 0.0


def _total_change(pairs: Sequence[Pair], metric: str) -> float:
    total_a = sum(a.metric(metric) for a, _b in pairs)
    total_b = sum(b.metric(metric) for _a, b in pairs)
    return (total_b - total_a) / total_a if total_a else 0.0


def _change(
    key: str,
    pairs: Sequence[Pair],
    measured: tuple[str, int],  # the metric, the rounds the pairs came in
    tested: tuple[OneSampleT | None, float],
    q_value: float,
    alpha: float,
    min_change: float,
) -> PairedChange:
    test, change = tested
    metric, rounds = measured
    verdict = TOO_FEW if test is None else NO_CHANGE
    if test is not None and q_value < alpha and abs(change) >= min_change:
        verdict = FASTER if change < 0 else SLOWER

    changed = _total_change if key == OVERALL else _median_change

    def median(side: int, name: str) -> float:
        """The side's median; overall, its mean, which the change of the totals is of."""
        values = [pair[side].metric(name) for pair in pairs]
        return statistics.fmean(values) if key == OVERALL else statistics.median(values)

    return PairedChange(
        view=key,
        verdict=verdict,
        pairs=len(pairs),
        metric=metric,
        median_a=median(0, metric),
        median_b=median(1, metric),
        change=change,
        rounds=rounds,
        p_value=test.p_value if test is not None else math.nan,
        q_value=q_value,
        t=test.t if test is not None else math.nan,
        wall_a=median(0, "wall"),
        wall_b=median(1, "wall"),
        cpu_a=median(0, "cpu"),
        cpu_b=median(1, "cpu"),
        db_a=median(0, "db"),
        db_b=median(1, "db"),
        errors_a=sum(1 for a, _b in pairs if a.error),
        errors_b=sum(1 for _a, b in pairs if b.error),
        wall_change=changed(pairs, "wall"),
        cpu_change=changed(pairs, "cpu"),
        db_change=changed(pairs, "db"),
    )
