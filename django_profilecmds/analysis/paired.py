"""Verdicts of an A/B replay: the same requests sent to two revisions of the project, in pairs.

Each recorded request is replayed once by A and once by B, one right after the other, so that
the load of the machine, caches warming and clock drift fall on both sides of a pair alike.
A view's verdict tests the paired differences (B - A, on the chosen metric) with the Wilcoxon
signed-rank test; the views' p-values are adjusted for testing many views at once
(Benjamini-Hochberg), and, as ``--compare`` does, a change counts only when it is significant
at ``alpha`` and the median of the pairs' relative changes is at least ``min_change``.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django_profilecmds.analysis.compare import FASTER, NO_CHANGE, SLOWER

if TYPE_CHECKING:
    from django_profilecmds.analysis.pairedtests import SignedRank

OVERALL = "(all requests)"


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
    median_a: float  # of the metric
    median_b: float
    change: float  # the median of the pairs' (B - A) / A; for OVERALL, of the totals
    p_value: float  # Wilcoxon signed-rank, two-sided
    q_value: float  # p adjusted across the views (Benjamini-Hochberg); OVERALL: p itself
    statistic: float
    z: float
    exact: bool
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
    rows: Mapping[str, Sequence[Pair]], metric: str, alpha: float, min_change: float
) -> list[PairedChange]:
    """A verdict per row, the slower first, then the overall one (every pair of every row)."""
    from django_profilecmds.analysis.correlation import benjamini_hochberg

    tested = {key: _tested(pairs, metric) for key, pairs in rows.items() if pairs}
    keys = list(tested)
    q_values = benjamini_hochberg([tested[key][0].p_value for key in keys]) if keys else []
    changes = [
        _change(key, rows[key], metric, tested[key], q, alpha, min_change)
        for key, q in zip(keys, q_values, strict=True)
    ]
    order = {SLOWER: 0, FASTER: 1, NO_CHANGE: 2}
    changes.sort(key=lambda change: (order[change.verdict], -abs(change.change)))
    every = [pair for pairs in rows.values() for pair in pairs]
    if every:
        test, _relative = _tested(every, metric)
        overall = (test, _total_change(every, metric))
        changes.append(_change(OVERALL, every, metric, overall, test.p_value, alpha, min_change))
    return changes


def _tested(pairs: Sequence[Pair], metric: str) -> tuple[SignedRank, float]:
    """The signed-rank test of the pairs' differences, and the median relative change."""
    from django_profilecmds.analysis.pairedtests import signed_rank

    differences = [b.metric(metric) - a.metric(metric) for a, b in pairs]
    return signed_rank(differences), _median_change(pairs, metric)


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
    metric: str,
    tested: tuple[SignedRank, float],
    q_value: float,
    alpha: float,
    min_change: float,
) -> PairedChange:
    test, change = tested
    verdict = NO_CHANGE
    if q_value < alpha and abs(change) >= min_change:
        verdict = FASTER if change < 0 else SLOWER

    changed = _total_change if key == OVERALL else _median_change

    def median(side: int, name: str) -> float:
        return statistics.median(pair[side].metric(name) for pair in pairs)

    return PairedChange(
        view=key,
        verdict=verdict,
        pairs=len(pairs),
        metric=metric,
        median_a=median(0, metric),
        median_b=median(1, metric),
        change=change,
        p_value=test.p_value,
        q_value=q_value,
        statistic=test.statistic,
        z=test.z,
        exact=test.exact,
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
