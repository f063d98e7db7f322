"""``.lprof``: line_profiler's timings, as its ``LineStats.to_file`` (and ``dump_stats`` before
it) writes them (``python -m line_profiler`` reads the file)."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from django_profilecmds.reports.renderers.base import Renderer, RunReport

if TYPE_CHECKING:
    from line_profiler.line_profiler import LineStats

    from django_profilecmds.result import RunResult


class LineStatsRenderer(Renderer):
    name = "lprof"
    extension = ".lprof"

    def applies(self, result: RunResult) -> bool:
        return result.line_stats is not None

    def render(self, report: RunReport) -> Callable[[IO[bytes]], None]:
        import pickle

        assert report.result.line_stats is not None  # applies() said there are timings
        stats = masked_line_keys(report.result.line_stats, report.redactor.known)
        return lambda handle: pickle.dump(stats, handle, pickle.HIGHEST_PROTOCOL)


def masked_line_keys(line_stats: LineStats, mask: Callable[[str], str]) -> LineStats:
    """line_profiler's stats with file and function names masked: a function can be named
    from data (``g_<token>``). The same object when no name changes (the common case)."""
    timings = getattr(line_stats, "timings", None)
    if not isinstance(timings, dict):
        return line_stats
    names = {part for key in timings for part in (key[0], key[2])}
    changed = {name: masked for name in names if (masked := mask(name)) != name}
    if not changed:
        return line_stats
    import copy

    renamed = copy.copy(line_stats)
    renamed.timings = {
        (changed.get(file, file), line, changed.get(name, name)): value
        for (file, line, name), value in timings.items()
    }
    return renamed
