"""SQL for people: the N+1 warnings and top query groups for the terminal, every query in
order for ``--sql full`` and the ``.sql.txt`` file."""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from django_profilecmds.analysis.sql import describe_frame
from django_profilecmds.reports.text import (
    ms,
    plural,
    queries,
    queries_of_runs,
    same_queries_each_run,
)

if TYPE_CHECKING:
    from django_profilecmds.analysis.sql import NPlusOne
    from django_profilecmds.reports.redact import Redactor
    from django_profilecmds.result import RunResult

_COLUMNS = re.compile(r"^SELECT (DISTINCT )?.+? FROM ", re.IGNORECASE | re.DOTALL)
SQL_WIDTH = 100


def shorten(sql: str, width: int = SQL_WIDTH) -> str:
    """``SELECT "a"."id", "a"."b", ... FROM "a" WHERE ...`` -> ``SELECT … FROM "a" WHERE …``."""
    short = _COLUMNS.sub(lambda m: f"SELECT {m.group(1) or ''}… FROM ", " ".join(sql.split()))
    return short if len(short) <= width else short[: width - 1] + "…"


def _where(flag: NPlusOne) -> list[str]:
    """Where an N+1 runs: the project frames (or, with none, the library frames and the one
    that loops), and the template lines down from the {% for %} that drives it."""
    if not flag.library or (flag.stack and not flag.library_loop):
        lines = [f"       at {flag.origin}"]
        lines.extend(f"          called from {frame}" for frame in flag.stack[1:3])
    else:
        # The loop is a library's (a serializer's, the admin's): the project frame outside it
        # (often a middleware) says little on its own.
        lines = [f"       in a library: {flag.library[0]}"]
        lines.extend(f"          called from {frame}" for frame in flag.library[1:3])
        if flag.library_loop:
            lines.append(f"          looping at {flag.library_loop}")
        if flag.stack:
            lines.append(f"          under {flag.origin}")
    if flag.template:
        where = f"       template {flag.template}"
        templates = flag.templates or [flag.template]
        for outer in templates[1:]:
            where += f", included from {outer}"
        if flag.loop:
            name, line = flag.loop.rsplit(":", 1)
            same = name == flag.template.rsplit(":", 1)[0]
            where += f", inside the {{% for %}} at {'line ' + line if same else flag.loop}"
        lines.append(where)
    return lines


def render_sql_summary(result: RunResult, top: int = 8) -> str:
    sql = result.sql
    if sql is None:
        return ""
    per_run = " per run" if sql.runs > 1 else ""
    shapes = plural(len(sql.groups), "shape")
    if same_queries_each_run(result):
        lines = [
            f"SQL: {queries_of_runs([run.queries for run in result.runs])} "
            f"in {ms(sql.per_run(sql.duration))} · {shapes} · "
            f"{plural(round(sql.per_run(sql.duplicates)), 'duplicate')}"
        ]
    else:
        # A mean per run would be a count no run ran: the groups' figures are the runs' sum.
        sql = dataclasses.replace(sql, runs=1)
        lines = [
            f"SQL: {queries_of_runs([run.queries for run in result.runs])}; "
            f"over the {len(result.runs)} runs, {queries(sql.total)} in {ms(sql.duration)} · "
            f"{shapes} · {plural(sql.duplicates, 'duplicate')}"
        ]
    for flag in sql.nplusone:
        lines.append(
            f"  N+1: {flag.count} similar queries{per_run} from one line, {ms(flag.duration)}"
        )
        lines.append(f"       {shorten(flag.shape)}")
        lines.extend(_where(flag))
        lines.append(f"       fix: {flag.hint}")
    if sql.groups:
        lines.append("")
        lines.append(f"  {'count':>5} {'total':>9} {'% DB':>5}  {'origin':<40} SQL")
        for group in sql.groups[:top]:
            share = group.duration / sql.duration if sql.duration else 0.0
            origin = _tail(group.top_origin, 40)
            lines.append(
                f"  {round(sql.per_run(group.count)):>5} {ms(sql.per_run(group.duration)):>9} "
                f"{share:>5.0%}  {origin:<40} {shorten(group.shape, 70)}"
            )
        if len(sql.groups) > top:
            lines.append(f"  … and {plural(len(sql.groups) - top, 'more shape')} (see --sql full)")
    if sql.explains:
        # Plans may quote parameters (a session key); only then is the redactor worth building.
        from django_profilecmds.reports.runredaction import redactor_for

        redactor = redactor_for(result)
    for explain in sql.explains:
        analyze = " ANALYZE" if explain["analyze"] else ""
        lines.append("")
        lines.append(
            f"  EXPLAIN{analyze} ({explain['vendor']}, {ms(explain['duration'])}): "
            f"{shorten(redactor.sql(explain['sql']), 80)}"
        )
        if explain["error"]:
            lines.append(f"    could not explain: {explain['error']}")
        lines.extend(f"    {line}" for line in redactor.plan(explain["plan"]))
    return "\n".join(lines)


def _tail(origin: str, width: int) -> str:
    """``demo_site/shop/views.py:41 in listing_list`` -> ``shop/views.py:41 in listing_list``."""
    path, sep, rest = origin.partition(":")
    parts = path.split("/")
    short = "/".join(parts[-2:]) + sep + rest
    return short if len(short) <= width else short[: width - 1] + "…"


def render_sql_full(result: RunResult) -> str:
    """Every query in execution order, with its timing and origin."""
    lines = []
    for number, query in enumerate(result.queries, 1):
        origin = describe_frame(query.origin) if query.origin else "(no project code)"
        if query.template:
            origin += f" · template {query.template[0]}:{query.template[1]}"
        lines.append(
            f"#{number} run {query.run + 1} · {ms(query.duration)} · {query.alias} · {origin}"
        )
        lines.append(f"    {' '.join(query.sql.split())}")
    return "\n".join(lines)


def render_sql_file(result: RunResult, redactor: Redactor) -> str:
    """The ``.sql.txt`` report: every query, its parameters, timing and project-code stack."""
    lines = [f"# {redactor.text(result.spec.title)}", ""]
    for number, query in enumerate(result.queries, 1):
        lines.append(
            f"-- #{number} · run {query.run + 1} · {ms(query.duration)} · alias {query.alias}"
            + (f" · {plural(query.rows, 'row')}" if query.rows is not None else "")
        )
        lines.extend(f"--   at {describe_frame(frame)}" for frame in query.stack)
        if query.template:
            lines.append(f"--   template {query.template[0]}:{query.template[1]}")
        params = redactor.params(query.sql, query.params, query.many)
        lines.append(f"--   params {redactor.text(repr(params))}")
        lines.append(redactor.sql_text(query.sql).rstrip(";") + ";")
        lines.append("")
    return "\n".join(lines)
