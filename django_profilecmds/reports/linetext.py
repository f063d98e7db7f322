"""The per-line table: kernprof's columns plus the SQL each line ran."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django_profilecmds.analysis.sql import describe_frame

if TYPE_CHECKING:
    from django_profilecmds.analysis.lines import FunctionLines, LineRow
    from django_profilecmds.result import RunResult

UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
INFLATION_NOTE = (
    "Line profiling slows every profiled line, so absolute times are inflated: "
    "read the % Time column."
)


def hottest(entry: FunctionLines, count: int = 3) -> set[int]:
    """Line numbers of the ``count`` lines with the most time (at least 10% of the function)."""
    ranked = sorted(entry.rows, key=lambda row: row.time, reverse=True)
    return {row.lineno for row in ranked[:count] if row.percent >= 10}


def function_header(entry: FunctionLines, runs: int, unit: str) -> list[str]:
    where = describe_frame((entry.filename, entry.first_line, entry.qualname))
    if not entry.executed:
        return [f"{where}: never executed"]
    total = entry.total / UNITS[unit]
    return [
        f"Function: {where}",
        f"Total time: {total:.6g} {unit} over {runs} run{'' if runs == 1 else 's'}",
    ]


COLUMNS = (
    f"{'Line #':>6} {'Hits':>9} {'Time':>12} {'Per Hit':>10} {'% Time':>7} {'SQL':>14}  "
    "Line Contents"
)


def format_row(row: LineRow, unit: str) -> str:
    scale = UNITS[unit]
    if row.hits:
        timing = f"{row.hits:>9} {row.time / scale:>12.1f} {row.per_hit / scale:>10.1f} "
        timing += f"{row.percent:>7.1f}"
    else:
        timing = f"{'':>9} {'':>12} {'':>10} {'':>7}"
    sql = f"{row.queries}q {row.sql_time * 1000:.1f}ms" if row.queries else ""
    return f"{row.lineno:>6} {timing} {sql:>14}  {row.source}"


def table_lines(
    result: RunResult,
    unit: str = "ms",
    skip_zero: bool = False,
    *,
    hot: Callable[[str], str] | None = None,
    never: Callable[[str], str] = str,
) -> list[str]:
    """Every profiled function's table, a line at a time: for the file and the terminal alike.

    ``hot`` marks the hottest lines (the terminal colours them) and ``never`` the header of a
    function that never ran (the terminal adds a hint); by default both are left plain.
    """
    out: list[str] = []
    for entry in result.lines:
        if skip_zero and not entry.executed:
            continue
        out.append("")
        header = function_header(entry, len(result.runs), unit)
        if not entry.executed:
            out.extend(never(line) for line in header)
            continue
        out.extend(header)
        out.append("")
        out.append(COLUMNS)
        out.append("=" * len(COLUMNS))
        marked = hottest(entry) if hot is not None else set()
        for row in entry.rows:
            if skip_zero and not row.hits:
                continue
            line = format_row(row, unit)
            out.append(hot(line) if hot is not None and row.lineno in marked else line)
    return out


def render_lines(result: RunResult, unit: str = "ms", skip_zero: bool = False) -> str:
    """The whole per-line report as plain text (the ``.lines.txt`` file)."""
    notes = [INFLATION_NOTE, f"Times in {unit}; SQL is queries run while the line ran."]
    return "\n".join([*notes, *table_lines(result, unit, skip_zero)])
