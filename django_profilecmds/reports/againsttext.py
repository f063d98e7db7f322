"""Terminal text of an A/B replay: a verdict per view, from paired requests, and overall."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
        f"{plural(replayed.rounds, 'round')}, each to a new process on each side "
        f"({plural(replayed.warmup, 'warm-up request')} to both first, not counted): "
        f"A = {replayed.described} ({replayed.revision}), B = this tree; A and B took turns "
        "going first. Every request was rolled back.",
        f"{metric_line[:1].upper()}{metric_line[1:]}.",
        f"Wilcoxon signed-rank test of the pairs (B - A), alpha {alpha:g}, p adjusted across "
        f"{plural(views, 'view')} (Benjamini-Hochberg); changes under {min_change:.0%} count as "
        "noise.",
        "",
        f"  {'verdict':<22} {'pairs':>6} {'A median':>10} {'B median':>10} {'change':>8} "
        f"{'wall':>8} {'CPU':>8} {'DB':>8} {'p-value':>9} {'q-value':>9}  view",
    ]
    for change in changes:
        errors = ""
        if change.errors_a or change.errors_b:
            errors = f"  (errors: A {change.errors_a}, B {change.errors_b})"
        lines.append(
            f"  {change.verdict:<22} {change.pairs:>6} {ms(change.median_a):>10} "
            f"{ms(change.median_b):>10} {change.change:>+8.1%} "
            f"{change.wall_change:>+8.1%} {change.cpu_change:>+8.1%} {change.db_change:>+8.1%} "
            f"{change.p_value:>9.2g} {change.q_value:>9.2g}  {change.view}{errors}"
        )
    lines.append(
        "  change, and that of wall, CPU and DB time: the median of the pairs' relative "
        "changes, (B - A) / A (overall: of the totals)."
    )
    if replayed.skipped:
        lines.append(
            f"{plural(replayed.skipped, 'request')} left out: a side found no URL pattern or "
            "no such user for it."
        )
    return printable("\n".join(lines))
