"""Terminal text of an A/B replay: a verdict per view, from paired requests, and overall."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from django_profilecmds.analysis.paired import MIN_ROUNDS, TOO_FEW
from django_profilecmds.reports.text import ms, plural, printable

if TYPE_CHECKING:
    from django_profilecmds.analysis.paired import PairedChange
    from django_profilecmds.replay.against import AgainstReplay


def render_against(
    replayed: AgainstReplay,
    changes: list[PairedChange],
    *,
    metric_line: str,
    alpha: float,
    min_change: float,
) -> str:
    views = sum(1 for change in changes if change.view != "(all requests)")
    lines = [
        f"A/B replay of {plural(replayed.pairs, 'pair')} of requests in "
        f"{plural(replayed.rounds, 'round')} (each of up to {replayed.round_pairs} pairs of "
        "one view, sent to a new process on each side after up to "
        f"{plural(replayed.warmup, 'warm-up request')} to both, not counted): "
        f"A = {replayed.described} ({replayed.revision}), B = this tree; "
        "A and B took turns going first. Every request was rolled back.",
        f"{metric_line[:1].upper()}{metric_line[1:]}.",
        f"Student's t-test of each view's rounds (a round: the median of its pairs' B / A), "
        f"alpha {alpha:g}, p adjusted across {plural(views, 'view')} (Benjamini-Hochberg); "
        f"changes under {min_change:.0%} count as noise.",
        "",
        f"  {'verdict':<22} {'pairs':>6} {'rounds':>6} {'A median':>10} {'B median':>10} "
        f"{'change':>8} {'wall':>8} {'CPU':>8} {'DB':>8} {'p-value':>9} {'q-value':>9}  view",
    ]
    for change in changes:
        errors = ""
        if change.errors_a or change.errors_b:
            errors = f"  (errors: A {change.errors_a}, B {change.errors_b})"
        lines.append(
            f"  {change.verdict:<22} {change.pairs:>6} {change.rounds:>6} "
            f"{ms(change.median_a):>10} {ms(change.median_b):>10} {change.change:>+8.1%} "
            f"{change.wall_change:>+8.1%} {change.cpu_change:>+8.1%} {change.db_change:>+8.1%} "
            f"{_p(change.p_value):>9} {_p(change.q_value):>9}  {change.view}{errors}"
        )
    lines.append(
        "  change, and that of wall, CPU and DB time: the median of the pairs' relative "
        "changes, (B - A) / A (overall: of the totals, and A and B are the means per request)."
    )
    if any(change.verdict == TOO_FEW for change in changes):
        lines.append(
            f"  too few rounds: fewer than {MIN_ROUNDS} rounds, too few to tell a change from "
            f"one process's own speed; a longer log gives more."
        )
    if replayed.skipped:
        lines.append(
            f"{plural(replayed.skipped, 'request')} left out: a side found no URL pattern or "
            "no such user for it."
        )
    return printable("\n".join(lines))


def _p(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2g}"
