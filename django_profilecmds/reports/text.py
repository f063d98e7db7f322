"""Text for the terminal. Functions return strings; the command decides where they go."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyinstrument.frame import Frame
    from pyinstrument.session import Session

    from django_profilecmds.projectcode import ProjectCode
    from django_profilecmds.result import RunResult


# C0 and C1 control characters but tab and newline, and the invisible marks that reorder text.
UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with control characters written as escapes (``\\x1b``, ``\\u202e``), so that
    what a recorded line or a saved file holds cannot move the cursor, recolour or retitle the
    terminal, or reorder the text around it."""
    return UNPRINTABLE.sub(lambda match: escape_control(match[0]), text)


def printable_data(value: Any) -> Any:
    """:func:`printable` applied to every string (keys too) in nested dicts, lists and tuples."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable_data(key): printable_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(printable_data(item) for item in value)
    return value


def escape_control(character: str) -> str:
    """``\\x1b`` for ESC, ``\\u202e`` for a right-to-left override."""
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def ms(seconds: float, *, unit: bool = True) -> str:
    """``0.0123`` -> ``12.3 ms``; ``12.3`` without the unit, for a column headed in ms."""
    return f"{seconds * 1000:.1f}{' ms' if unit else ''}"


def relative(before: float | None, after: float | None) -> str:
    """The relative change from ``before`` to ``after`` (``+12.5%``); ``-`` when one is
    unknown, ``new`` from nothing."""
    if before is None or after is None:
        return "-"
    if not before:
        return "+0.0%" if not after else "new"
    return f"{(after - before) / before:+.1%}"


def size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KB"
    return f"{count / 1024 / 1024:.1f} MB"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def heading(result: RunResult) -> str:
    spec = result.spec
    who = identity_text(result.identity.label if result.identity else None, result.user)
    runs = plural(spec.repeat, "run")
    runs += f" after {plural(spec.warmup, 'warm-up run')}" if spec.warmup else ", cold process"
    title = spec.title
    target = f"{title} -> {result.view}" if spec.request else title
    who = f"{who} · " if spec.request else ""
    return f"{target}\n  {who}{result.driver} · profiler: {spec.profiler} · {runs}"


def identity_text(label: str | None, user: str | None) -> str:
    """Who a request was: the label of the identity it carried (see ``request_identity``),
    else, for a report saved before requests were read, the ``--user`` it was sent as."""
    return label or (f"as {user}" if user else "anonymous")


def status_line(result: RunResult) -> str:
    response = result.response
    if response.status is None:
        if response.reason != "raised":
            return response.reason[0].upper() + response.reason[1:]
        what = "view" if result.spec.request is not None else "code"
        return f"The {what} raised an exception (no response)"
    kind = f" · {response.content_type}" if response.content_type else ""
    streamed = " streamed" if response.streaming else ""
    return f"{response.status} {response.reason}{kind} · {size(response.size)}{streamed}"


def queries(count: int) -> str:
    return f"{count} {'query' if count == 1 else 'queries'}"


def queries_of_runs(counts: list[int]) -> str:
    """The counted runs' query counts as they were, never a rounded mean: ``13 queries per
    run`` when every run ran as many, ``3 queries in the first run, 0 in the others`` (a cache
    or a lazy set-up filled by the first), else ``4 to 13 queries per run (median 5)``."""
    if len(set(counts)) <= 1:
        return queries(counts[0] if counts else 0) + (" per run" if len(counts) > 1 else "")
    first, rest = counts[0], counts[1:]
    if len(set(rest)) == 1:
        others = "the second" if len(rest) == 1 else "the others"
        return f"{queries(first)} in the first run, {rest[0]} in {others}"
    ordered = sorted(counts)
    return f"{ordered[0]} to {ordered[-1]} queries per run (median {ordered[len(ordered) // 2]})"


def same_queries_each_run(result: RunResult) -> bool:
    """Every counted run ran as many queries: per-run figures are then exact."""
    return len({run.queries for run in result.runs}) <= 1


def measures_line(result: RunResult) -> str:
    emails = plural(len(result.emails), "email") + " captured, not sent"
    if not result.spec.capture_email:
        emails = "email sent for real (--send-email, not counted)"
    counts = [run.queries for run in result.runs]
    if same_queries_each_run(result):
        database = f"{ms(result.db_time)} in the database"
    else:
        total = sum(run.db_time for run in result.runs)
        database = f"{ms(total)} in the database over the {len(counts)} runs"
    ours = f" ({ms(result.overhead)} recording SQL)" if result.overhead >= 0.00005 else ""
    return (
        f"wall {ms(result.wall.median)}{ours} · CPU {ms(result.cpu.median)} · "
        f"{queries_of_runs(counts)} ({database}) · {emails}"
    )


def distribution_line(result: RunResult) -> str:
    w = result.wall
    return (
        f"wall time over {plural(w.count, 'run')}: min {ms(w.min)} · median {ms(w.median)} · "
        f"p95 {ms(w.p95)} · max {ms(w.max)} · stdev {ms(w.stdev)}"
    )


def safety_line(result: RunResult) -> str:
    """What became of the run's changes: database, files, refused statements."""
    files = ""
    if result.files_written or result.files_deleted:
        written, deleted = len(result.files_written), len(result.files_deleted)
        parts = [plural(written, "file") + " written"] if written else []
        parts += [plural(deleted, "file") + " deleted"] if deleted else []
        fate = "KEPT" if result.spec.commit else "discarded"
        files = f" {' and '.join(parts).capitalize()}, {fate}."
    if result.spec.commit:
        return "--commit: database changes made by the view were KEPT." + files
    refused = ""
    if result.refused:
        refused = f" Refused {plural(len(result.refused), 'statement')} (see below)."
    if result.test_databases:
        databases = "The test runner's own test databases; the project's were read-only."
    else:
        databases = "Database changes rolled back."
    return databases + files + refused


def cache_line(result: RunResult) -> str:
    """``cache default: 12 gets (10 hits, 2 misses) · 2 sets · 0 deletes · 0.4 ms``."""
    per_run = len(result.runs)
    parts = []
    for stats in result.caches:
        parts.append(
            f"cache {stats['alias']}: {plural(round(stats['gets'] / per_run), 'get')} "
            f"({round(stats['hits'] / per_run)} hits, {round(stats['misses'] / per_run)} misses)"
            f" · {plural(round(stats['sets'] / per_run), 'set')} · "
            f"{plural(round(stats['deletes'] / per_run), 'delete')} · "
            f"{ms(stats['time'] / per_run)}"
        )
    if not parts:
        return ""
    kept = any(stats["sets"] or stats["deletes"] for stats in result.caches)
    text = " | ".join(parts) + (" per run" if per_run > 1 else "")
    if kept and not result.spec.isolate_cache:
        text += " (--shared-cache: these writes to the project's caches are kept)"
    elif result.spec.isolate_cache:
        text += " (private in-memory caches, discarded)"
    return text


def runs_table(result: RunResult) -> str:
    lines = ["  run      wall       CPU  queries   DB time  status"]
    for index, run in enumerate(result.runs, 1):
        lines.append(
            f"  {index:>3} {ms(run.wall):>9} {ms(run.cpu):>9} {run.queries:>8} "
            f"{ms(run.db_time):>9}  {run.status if run.status is not None else 'raised'}"
        )
    return "\n".join(lines)


def render_calltree(
    session: Session, *, color: bool, unicode: bool, show_all: bool, percent: bool
) -> str:
    """pyinstrument's own console renderer; library frames are collapsed unless show_all."""
    from pyinstrument.renderers import ConsoleRenderer

    from django_profilecmds import collectors, sandbox

    # Our own SQL wrapper and the sandbox's guards sit under every query: harness, not the
    # user's code.
    harness = "|".join(
        re.escape(os.path.dirname(str(package.__file__))) + ".*"
        for package in (collectors, sandbox)
    )
    renderer = ConsoleRenderer(
        unicode=unicode,
        color=color,
        show_all=show_all,
        time="percent_of_total" if percent else "seconds",
        short_mode=False,
        processor_options={"hide_regex": harness},
    )
    return renderer.render(session)


LIBRARY_SHARE = 0.8  # of the run: the deepest project frame on the hot path holds this much,
PROJECT_SHARE = 0.2  # and project code below it less than this of its time


def render_library_hot_path(session: Session, limit: int = 8) -> str:
    """When the call tree's hot path ends in collapsed library frames (an admin page, a
    serializer), the hottest library functions under its deepest project frame, by self
    time; nothing when project code is where the time goes."""
    from pyinstrument.renderers import ConsoleRenderer

    from django_profilecmds.projectcode import ProjectCode

    # The tree as the console renderer shows it (repeated calls merged), every frame kept.
    root = session.root_frame()
    if root is not None:
        root = ConsoleRenderer(show_all=True).preprocess(root)
    if root is None or root.time <= 0:
        return ""
    is_project = ProjectCode()
    frame: Frame | None = root
    deepest: Frame | None = None
    while frame is not None:
        if frame.file_path and is_project(frame.file_path):
            deepest = frame
        frame = max(_real_children(frame), key=lambda child: child.time, default=None)
    if deepest is None:
        deepest = root  # no project frame at all (a CMS's or the admin's page): from the top
    if deepest.time < LIBRARY_SHARE * root.time:
        return ""
    if _project_time_below(deepest, is_project) >= PROJECT_SHARE * deepest.time:
        return ""
    selves: dict[tuple[str, str, int], float] = {}
    for below in _library_frames_below(deepest, is_project):
        own = below.time - sum(child.time for child in _real_children(below))
        key = (_qualified(below), below.file_path_short or "", below.line_no or 0)
        selves[key] = selves.get(key, 0.0) + max(own, 0.0)
    hottest = sorted(selves.items(), key=lambda item: -item[1])[:limit]
    if not hottest or hottest[0][1] <= 0:
        return ""
    where = f"{_qualified(deepest)}  {deepest.file_path_short}:{deepest.line_no}"
    lines = [f"Library code holds the hot path under {where}; its hottest functions (self time):"]
    width = max(len(function) for (function, _file, _line), _time in hottest)
    for (function, filename, line), seconds in hottest:
        lines.append(
            f"  {seconds:.3f} {seconds / root.time:>4.0%}  {function:<{width}}  {filename}:{line}"
        )
    lines.append("--show-all shows every frame of the tree.")
    return "\n".join(lines)


def _qualified(frame: Frame) -> str:
    return f"{frame.class_name}.{frame.function}" if frame.class_name else frame.function


def _real_children(frame: Frame) -> list[Frame]:
    return [child for child in frame.children if not child.is_synthetic]


def _project_time_below(frame: Frame, is_project: ProjectCode) -> float:
    """The time of the outermost project frames under ``frame``."""
    total = 0.0
    for child in _real_children(frame):
        if child.file_path and is_project(child.file_path):
            total += child.time
        else:
            total += _project_time_below(child, is_project)
    return total


def _library_frames_below(frame: Frame, is_project: ProjectCode) -> Iterator[Frame]:
    """The frames under ``frame`` down to the next project frames, which are left out."""
    for child in _real_children(frame):
        if child.file_path and is_project(child.file_path):
            continue
        yield child
        yield from _library_frames_below(child, is_project)


def render_function_stats(result: RunResult, limit: int = 30) -> str:
    """cProfile's own table, sorted by cumulative time."""
    import pstats

    if result.function_stats is None:
        return ""
    stream = io.StringIO()
    stats = result.function_stats
    saved, stats.stream = stats.stream, stream  # type: ignore[attr-defined]
    try:
        stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(limit)
    finally:
        stats.stream = saved  # type: ignore[attr-defined]
    return stream.getvalue().strip("\n")
