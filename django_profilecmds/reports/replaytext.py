"""Terminal text of a replay: views (or groups of a view's requests) ranked by their share of
the time, and comparisons. A list cut short says how many it left out."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from django_profilecmds.analysis.grouping import column_title, describe_grouping
from django_profilecmds.analysis.viewstats import ranked_nplusone
from django_profilecmds.reports.text import ms, plural, printable, relative

if TYPE_CHECKING:
    from django_profilecmds.analysis.compare import Change
    from django_profilecmds.analysis.replay import ReplayStats
    from django_profilecmds.analysis.viewstats import ViewStats

NPLUSONE_SHOWN = 3  # where a row's N+1 queries loop, in the terminal and the HTML report
NOT_FOUND_SHOWN = 10  # path prefixes that no URL pattern matches
UNKNOWN_USERS_SHOWN = 5
IN_JSON = "all in the JSON report"


def left_out(count: int, where: str | None = IN_JSON, what: str = "more") -> str:
    """``… and 10 more (all in the JSON report)``: the line that ends a list cut short."""
    return f"… and {count} {what}" + (f" ({where})" if where else "")


def dig_command(method: str, path: str, user: str | None, program: str = "python manage.py") -> str:
    """The ``profile_view`` command that profiles a view's request (its slowest one).

    Query parameters with sensitive names (token, key, password...) are left out: the command
    is printed, and may be pasted into a chat.
    """
    from django_profilecmds.reports.secrets import is_sensitive

    path, _, query = path.partition("?")
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not is_sensitive(k)]
        path = f"{path}?{urlencode(kept)}" if kept else path
    parts = [program, "profile_view", shlex.quote(path)]
    if method != "GET":
        parts.append(f"--method={method}")
    if user is not None:
        parts.append(f"--user={shlex.quote(user)}")
    return " ".join(parts)


def render_replay(
    stats: ReplayStats,
    *,
    user: str | None = None,
    top: int = 20,
    program: str = "python manage.py",
) -> str:
    lines = [summary_line(stats, stats.user or user)]
    views = stats.ranked()
    if views:
        lines.append("")
        header = (
            f"{'share':>6} {'requests':>8} {'mean ms':>8} {'p50 ms':>7} {'p95 ms':>7} "
            f"{'CPU p50':>7} {'DB p50':>7} {'queries':>7} {'N+1':>5} {'errors':>6} {'4xx':>5}  "
            f"{column_title(stats.group_by)}  ->  dig in with"
        )
        lines.append(header)
        for view in views[:top]:
            approx = "" if view.exact else "~"
            lines.append(
                f"{stats.share(view):>6.1%} {view.requests:>8} {ms(view.mean, unit=False):>8} "
                f"{approx + ms(view.p50, unit=False):>7} {approx + ms(view.p95, unit=False):>7} "
                f"{approx + ms(view.cpu_p50, unit=False):>7} "
                f"{approx + ms(view.db_p50, unit=False):>7} "
                f"{view.queries_per_request:>7.1f} {view.flagged_requests:>5} {view.errors:>6} "
                f"{view.client_errors:>5}  "
                f"{view.view}  ->  "
                f"{dig_command(view.slowest_method, view.slowest_path, user, program)}"
            )
        row = "view" if stats.group_by == "view" else "group"
        if len(views) > top:
            rest = views[top:]
            share = sum(stats.share(view) for view in rest)
            lines.append(f"{share:>6.1%} in {plural(len(rest), f'more {row}')} (--top to see them)")
        if any(not view.exact for view in views):
            lines.append(
                f"~ percentiles estimated from a uniform sample of {stats.reservoir_size} "
                f"requests per {row}."
            )
        lines.extend(_nplusone(views, top, row))
    lines.extend(_not_replayed(stats))
    if stats.refused_count:
        lines.append("")
        lines.append("Refused, so that nothing escapes the rollback (nothing was committed):")
        lines.extend(f"  {refusal}" for refusal in stats.refused)
        if stats.refused_count > len(stats.refused):
            # The reports keep as many as are shown.
            lines.append(f"  {left_out(stats.refused_count - len(stats.refused), None)}")
    lines.extend(f"Warning: {warning}" for warning in stats.warnings)
    # Paths, lines that are not requests and their reasons come from the recorded traffic.
    return printable("\n".join(lines))


def _nplusone(views: list[ViewStats], top: int, row: str) -> list[str]:
    """Where each shown row's N+1 queries loop, the first few, and how many rows beyond
    ``--top`` ran one (``row``: what a row is, a view or a group)."""
    flagged = [view for view in views[:top] if view.nplusone]
    hidden = sum(1 for view in views[top:] if view.nplusone)
    if not flagged and not hidden:
        return []
    lines = ["", "N+1 queries (requests that ran one, by where the loop is):"]
    for view in flagged:
        origins = ranked_nplusone(view.nplusone)
        # The view on a line of its own: "api-list: <where>" would read as a name and its value.
        lines.append(f"  {view.view}")
        for origin, count in origins[:NPLUSONE_SHOWN]:
            lines.append(f"    {origin} ({plural(count, 'request')})")
        if len(origins) > NPLUSONE_SHOWN:
            lines.append(f"    {left_out(len(origins) - NPLUSONE_SHOWN)}")
    if hidden:
        what = f"more {row}{'' if hidden == 1 else 's'} with N+1 queries beyond --top"
        lines.append(f"  {left_out(hidden, what=what)}")
    return lines


def summary_line(stats: ReplayStats, user: str | None) -> str:
    who = f"as {user}" if user else "anonymous unless a line names its user"
    text = (
        f"Replayed {plural(stats.replayed, 'request')} ({who}): "
        f"{stats.total_time:.2f} s in views (CPU {stats.total_cpu_time:.2f} s, database "
        f"{stats.total_db_time:.2f} s), {plural(stats.view_count, 'view')}"
    )
    if stats.group_by != "view":
        grouping = describe_grouping(stats.group_by, stats.path_segments)
        text += f" in {plural(len(stats.views), 'group')} (by {grouping})"
    if stats.errors:
        text += f", {plural(stats.errors, 'error')} (5xx or raised)"
    if stats.client_errors:
        statuses = ", ".join(f"{status}: {n}" for status, n in stats.client_statuses().items())
        text += f", {plural(stats.client_errors, 'client error')} ({statuses})"
    if stats.emails:
        text += f", {plural(stats.emails, 'email')} captured, not sent"
    text += ". Every request was rolled back."
    if stats.refused_count:
        text += f" Refused {plural(stats.refused_count, 'statement')} (listed below)."
    return text


def _not_replayed(stats: ReplayStats) -> list[str]:
    lines: list[str] = []
    not_found = sum(stats.not_found.values())
    if not_found:
        lines.append("")
        lines.append(f"Not replayed, no URL pattern matches ({not_found}), by path prefix:")
        prefixes = sorted(stats.not_found.items(), key=lambda kv: -kv[1])
        for prefix, count in prefixes[:NOT_FOUND_SHOWN]:
            examples = ", ".join(stats.not_found_examples.get(prefix, []))
            lines.append(f"  {count:>6}  {prefix}  e.g. {examples}")
        if len(prefixes) > NOT_FOUND_SHOWN:
            rest = prefixes[NOT_FOUND_SHOWN:]
            what = f"more {'prefix' if len(rest) == 1 else 'prefixes'}"
            requests = plural(sum(count for _prefix, count in rest), "request")
            lines.append(f"  {left_out(len(rest), f'{requests}; {IN_JSON}', what)}")
    if stats.skipped_methods:
        methods = ", ".join(f"{m} {n}" for m, n in sorted(stats.skipped_methods.items()))
        lines.append("")
        lines.append(f"Not replayed, unsafe methods ({methods}): pass --include-unsafe.")
    if stats.unknown_users:
        unknown = sorted(stats.unknown_users.items())
        users = ", ".join(f"{u!r} ({n})" for u, n in unknown[:UNKNOWN_USERS_SHOWN])
        if len(unknown) > UNKNOWN_USERS_SHOWN:
            users += f", {left_out(len(unknown) - UNKNOWN_USERS_SHOWN)}"
        lines.append("")
        lines.append(f"Not replayed, no such user: {users}.")
    if stats.sampled_out:
        lines.append(f"Left out by --sample: {stats.sampled_out}.")
    if stats.problem_count:
        lines.append("")
        lines.append(f"Lines that are not requests: {stats.problem_count}. The first ones:")
        for problem in stats.problems:
            lines.append(f"  line {problem['line']}: {problem['reason']}: {problem['text']}")
        if stats.problem_count > len(stats.problems):
            # Neither kept nor saved: the source itself has them.
            lines.append(f"  {left_out(stats.problem_count - len(stats.problems), None)}")
    return lines


def render_changes(
    changes: list[Change],
    alpha: float,
    min_change: float,
    *,
    metric_line: str | None = None,
    unavailable: Sequence[str] = (),
) -> str:
    """The verdicts, one line each. The median before and after are of the verdict's metric;
    when the files hold CPU and database times too (a replay's), the change of each metric's
    median follows. ``metric_line`` says what the verdict is on and why; ``unavailable``, the
    metrics the baseline lacks (saved by an earlier version)."""
    from django_profilecmds.analysis.metrics import METRIC_NAMES

    metric = changes[0].metric if changes else "wall"
    every = any(c.cpu_before is not None or c.cpu_after is not None for c in changes)
    test = "Mann-Whitney U" + (f" on {METRIC_NAMES[metric]}" if metric != "wall" else "")
    lines = [
        f"Compared with the baseline ({test}, alpha {alpha:g}; changes under "
        f"{min_change:.0%} count as noise):"
    ]
    if metric_line:
        lines.append(f"  {metric_line[:1].upper()}{metric_line[1:]}.")
    if unavailable:
        names = " and ".join(METRIC_NAMES[name] for name in unavailable)
        lines.append(
            f"  The baseline has no {names} (it was saved by an earlier version): "
            "those changes are left blank."
        )
    title = {"wall": "median before", "cpu": "CPU before"}[metric]
    columns = f" {'wall':>8} {'CPU':>8} {'DB':>8}" if every else ""
    lines.append(
        f"  {'verdict':<22} {title:>13} {'after':>9} {'change':>8}{columns} "
        f"{'queries':>15} {'p-value':>9}  key"
    )
    for change in changes:
        before = ms(change.median_before) if change.median_before is not None else "-"
        after = ms(change.median_after) if change.median_after is not None else "-"
        delta = f"{change.change:+.1%}" if change.change is not None else ""
        cells = ""
        if every:
            cells = "".join(f" {_relative(change, name):>8}" for name in ("wall", "cpu", "db"))
        queries = _queries(change)
        p_value = f"{change.p_value:.2g}" if change.p_value is not None else ""
        key = change.key
        if change.baseline_key:
            key = f"{change.key} (baseline: {change.baseline_key})"
        lines.append(
            f"  {change.verdict:<22} {before:>13} {after:>9} {delta:>8}{cells} {queries:>15} "
            f"{p_value:>9}  {key}"
        )
    return printable("\n".join(lines))  # the baseline's keys come from a file


def _relative(change: Change, metric: str) -> str:
    """The relative change of a metric's median, ``-`` when a side has none."""
    return relative(getattr(change, f"{metric}_before"), getattr(change, f"{metric}_after"))


def _queries(change: Change) -> str:
    if change.queries_before is None or change.queries_after is None:
        value = change.queries_before if change.queries_after is None else change.queries_after
        return f"{value:.1f}" if value is not None else ""
    return f"{change.queries_before:.1f} -> {change.queries_after:.1f}"
