"""``.prof``: cProfile's statistics, as ``pstats.Stats.dump_stats`` writes them (``pstats``,
snakeviz and gprof2dot read the file)."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from django_profilecmds.reports.renderers.base import Renderer, RunReport

if TYPE_CHECKING:
    from django_profilecmds.result import RunResult


class FunctionStatsRenderer(Renderer):
    name = "prof"
    extension = ".prof"

    def applies(self, result: RunResult) -> bool:
        return result.function_stats is not None

    def render(self, report: RunReport) -> Callable[[IO[bytes]], None]:
        import marshal

        assert report.result.function_stats is not None  # applies() said there are stats
        stats = masked_function_keys(
            report.result.function_stats.stats,  # type: ignore[attr-defined]
            report.redactor.known,
        )
        return lambda handle: marshal.dump(stats, handle)


def masked_function_keys(stats: dict[Any, Any], mask: Callable[[str], str]) -> dict[Any, Any]:
    """cProfile's stats with file and function names masked: a function can be named from
    data (``g_<token>``). The same dict when no name changes (the common case)."""
    names = {part for key in stats for part in (key[0], key[2])}
    changed = {name: masked for name in names if (masked := mask(name)) != name}
    if not changed:
        return stats

    def key(function: tuple[str, int, str]) -> tuple[str, int, str]:
        file, line, name = function
        return (changed.get(file, file), line, changed.get(name, name))

    return {
        key(function): (*numbers, {key(caller): value for caller, value in callers.items()})
        for function, (*numbers, callers) in stats.items()
    }
