"""The per-line report: line_profiler's timings joined with the SQL each line ran."""

from __future__ import annotations

import inspect
import linecache
import types
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django_profilecmds.collectors.lines import LineKey, line_key

if TYPE_CHECKING:
    from line_profiler.line_profiler import LineStats

    from django_profilecmds.collectors.sql import QueryRecord


@dataclass
class LineRow:
    lineno: int
    hits: int
    time: float  # seconds, over all counted runs
    per_hit: float
    percent: float
    queries: int
    sql_time: float
    source: str


@dataclass
class FunctionLines:
    qualname: str
    filename: str
    first_line: int
    total: float
    rows: list[LineRow] = field(default_factory=list)
    executed: bool = True


def build_line_report(
    stats: LineStats, functions: list[types.FunctionType], queries: list[QueryRecord]
) -> list[FunctionLines]:
    """One entry per profiled function, hottest first; never-executed ones last."""
    sql_by_line: dict[tuple[LineKey, int], list[float]] = defaultdict(list)
    for query in queries:
        for key, lineno in query.lines:
            sql_by_line[(key, lineno)].append(query.duration)
    report = []
    for function in functions:
        code = function.__code__
        key = line_key(code)
        # line_profiler 5 keys timings by qualified name, earlier versions by plain name.
        qualified = (code.co_filename, code.co_firstlineno, function.__qualname__)
        recorded = stats.timings.get(qualified) or stats.timings.get(key, [])
        timings = {lineno: (hits, t * stats.unit) for lineno, hits, t in recorded}
        total = sum(t for _hits, t in timings.values())
        entry = FunctionLines(
            qualname=function.__qualname__,
            filename=code.co_filename,
            first_line=code.co_firstlineno,
            total=total,
            executed=any(hits for hits, _t in timings.values()),
        )
        for offset, source in enumerate(_source_block(code)):
            lineno = code.co_firstlineno + offset
            hits, spent = timings.get(lineno, (0, 0.0))
            sql = sql_by_line.get((key, lineno), [])
            entry.rows.append(
                LineRow(
                    lineno=lineno,
                    hits=hits,
                    time=spent,
                    per_hit=spent / hits if hits else 0.0,
                    percent=100 * spent / total if total else 0.0,
                    queries=len(sql),
                    sql_time=sum(sql),
                    source=source.rstrip("\n"),
                )
            )
        report.append(entry)
    report.sort(key=lambda e: (not e.executed, -e.total))
    return report


def _source_block(code: types.CodeType) -> list[str]:
    lines = linecache.getlines(code.co_filename)
    if not lines:
        return []
    try:
        return list(inspect.getblock(lines[code.co_firstlineno - 1 :]))
    except (IndexError, SyntaxError, TypeError):
        return lines[code.co_firstlineno - 1 : code.co_firstlineno]
