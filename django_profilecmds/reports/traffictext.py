"""The terminal summary of a traffic analysis (``profile_traffic``)."""

from __future__ import annotations

from datetime import datetime, timezone

from django_profilecmds.reports.text import ms, printable
from django_profilecmds.traffic.analysis import SeriesResult, TrafficAnalysis

SHOWN_QUIET = 5  # not significant series listed by name
STRONG_R = 0.3  # a significant correlation this strong is listed as a driver, with its command


def p_text(p_value: float | None) -> str:
    """``p = 1.1e-54``, ``p = 0.004``, ``p < 1e-300``."""
    if p_value is None:
        return ""
    if p_value == 0:
        return "p < 1e-300"
    return f"p = {p_value:.2g}"


def window_text(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


def _moment(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def render_traffic(
    analysis: TrafficAnalysis, *, sources: str = "", skipped: int = 0, top: int = 10
) -> str:
    lines = []
    span = f"{_moment(analysis.first)} to {_moment(analysis.last)}"
    lines.append(
        f"{analysis.requests:,} requests to {analysis.views} views in {analysis.windows} windows "
        f"of {window_text(analysis.window)}, {span}" + (f" ({sources})" if sources else "")
    )
    left = []
    if analysis.not_a_view:
        examples = ", ".join(analysis.not_a_view_examples[:3])
        left.append(f"{analysis.not_a_view:,} to paths no view answers (e.g. {examples})")
    if skipped:
        left.append(f"{skipped:,} lines that are not requests with a response time")
    if left:
        lines.append("  left out: " + "; ".join(left))
    tested = analysis.tested
    untested = [result for result in analysis.results if not result.tested]
    lines.append("")
    if not tested:
        lines.append(
            "Nothing could be tested: no series has enough windows with requests "
            f"(at least {_needed(analysis)} after differencing). Try a shorter --window "
            "or a longer log."
        )
    else:
        significant = [result for result in tested if result.significant]
        lines.append(
            f"Tested {len(tested)} series against the overall response time "
            f"(mean {ms(_overall_mean(analysis))}), after first differences; "
            f"{len(significant)} significant at a false discovery rate of "
            f"{analysis.alpha:g} (Benjamini-Hochberg):"
        )
        strong = [result for result in significant if (result.r or 0) >= STRONG_R]
        weak = [result for result in significant if result not in strong]
        if not significant:
            lines.append("  none: no layer, view or view's traffic moves with the response time.")
        for number, result in enumerate(strong[:top], 1):
            lines.extend(_driver_lines(number, result))
        if len(strong) > top:
            lines.append(f"  ... and {len(strong) - top} more (--top, or the JSON report)")
        if weak:
            names = ", ".join(f"{_short(result)} (r = {result.r:.2f})" for result in weak[:4])
            more = f" and {len(weak) - 4} more" if len(weak) > 4 else ""
            lines.append(
                f"Significant but weak (|r| < {STRONG_R}) or against it: {len(weak)} series, "
                f"{names}{more}."
            )
        quiet = [result for result in tested if not result.significant and not result.trend_only]
        trend = [result for result in tested if result.trend_only]
        if quiet:
            names = ", ".join(_short(result) for result in quiet[:SHOWN_QUIET])
            more = f" and {len(quiet) - SHOWN_QUIET} more" if len(quiet) > SHOWN_QUIET else ""
            lines.append(f"Not significant: {len(quiet)} series ({names}{more}).")
        if trend:
            names = ", ".join(
                f"{_short(result)} (r = {result.r_before:.2f} before)" for result in trend[:3]
            )
            more = f" and {len(trend) - 3} more" if len(trend) > 3 else ""
            lines.append(
                f"Moved with it only through a shared trend (correlated before differencing, "
                f"not after): {len(trend)} series, {names}{more}."
            )
    if untested:
        names = ", ".join(_short(result) for result in untested[:3])
        more = f" and {len(untested) - 3} more" if len(untested) > 3 else ""
        lines.append(
            f"Too few windows to test ({_needed(analysis)} needed): {len(untested)} series, "
            f"{names}{more}."
        )
    if analysis.view_rows:
        lines.append("")
        lines.append("Views by share of the time:")
        lines.append(f"  {'share':>6} {'requests':>9} {'mean':>9}  view")
        for row in analysis.view_rows[:top]:
            lines.append(
                f"  {100 * row['share']:>5.1f}% {row['requests']:>9,} {ms(row['mean']):>9}  "
                f"{row['view']}"
            )
        if len(analysis.view_rows) > top:
            lines.append(f"  ... and {len(analysis.view_rows) - top} more")
    return printable("\n".join(lines))  # paths and names come from the log


def _driver_lines(number: int, result: SeriesResult) -> list[str]:
    verb = "moves with" if (result.r or 0) > 0 else "moves against"
    text = (
        f"  {number}. response time {verb} {result.describe()} "
        f"(r = {result.r:.2f}, {p_text(result.p_value)})"
    )
    if result.share is not None:
        text += f" · {100 * result.share:.0f}% of the time"
    lines = [text]
    if result.command:
        lines.append(f"       {result.command}")
    return lines


def _short(result: SeriesResult) -> str:
    if result.kind == "layer":
        return f"{result.name} layer"
    if result.kind == "view time":
        return f"{result.name} time"
    return f"{result.name} traffic"


def _overall_mean(analysis: TrafficAnalysis) -> float:
    return analysis.total_time / analysis.requests if analysis.requests else 0.0


def _needed(analysis: TrafficAnalysis) -> int:
    return analysis.min_windows
