"""EXPLAIN for the slowest distinct queries, in each database's own dialect.

The one analysis step that touches the database: it runs inside the sandbox, on the same
connection, each statement in its own savepoint so a failing EXPLAIN cannot poison the run's
transaction. ``ANALYZE`` (which executes the statement) is used for SELECTs only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django_profilecmds.analysis.sql import normalize

if TYPE_CHECKING:
    from django_profilecmds.collectors.sql import QueryRecord

EXPLAINABLE = ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE")


@dataclass
class Explain:
    alias: str
    vendor: str
    sql: str
    duration: float
    analyze: bool
    plan: list[str] = field(default_factory=list)
    error: str | None = None


def slowest_distinct(queries: list[QueryRecord], top: int) -> list[QueryRecord]:
    """The slowest execution of each statement shape, slowest shapes first."""
    slowest: dict[str, QueryRecord] = {}
    for query in queries:
        if query.many or not query.sql.lstrip().upper().startswith(EXPLAINABLE):
            continue
        shape = normalize(query.sql)
        if shape not in slowest or query.duration > slowest[shape].duration:
            slowest[shape] = query
    return sorted(slowest.values(), key=lambda q: q.duration, reverse=True)[:top]


def explain_queries(
    queries: list[QueryRecord], top: int = 3, analyze: bool = False
) -> list[Explain]:
    from django.db import DatabaseError, connections, transaction

    results = []
    for query in slowest_distinct(queries, top):
        connection = connections[query.alias]
        vendor = connection.vendor
        is_select = query.sql.lstrip().upper().startswith("SELECT")
        use_analyze = analyze and is_select and vendor == "postgresql"
        explain = Explain(query.alias, vendor, query.sql, query.duration, use_analyze)
        prefix = _prefix(vendor, use_analyze)
        if prefix is None:
            explain.error = f"EXPLAIN is not supported here for the {vendor} backend."
            results.append(explain)
            continue
        try:
            with transaction.atomic(using=query.alias), connection.cursor() as cursor:
                cursor.execute(prefix + query.sql, query.params)
                rows = cursor.fetchall()
        except DatabaseError as exc:
            explain.error = str(exc).strip()
        else:
            explain.plan = _format(vendor, rows, [c[0] for c in cursor.description or []])
        results.append(explain)
    return results


def _prefix(vendor: str, analyze: bool) -> str | None:
    if vendor == "sqlite":
        return "EXPLAIN QUERY PLAN "
    if vendor == "postgresql":
        return "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "
    if vendor == "mysql":
        return "EXPLAIN "
    return None


def _format(vendor: str, rows: list[Any], columns: list[str]) -> list[str]:
    if vendor == "sqlite":
        # (id, parent, notused, detail): indent each step under its parent.
        depth: dict[int, int] = {0: -1}
        lines = []
        for node_id, parent, _unused, detail in rows:
            depth[node_id] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node_id] + str(detail))
        return lines
    if vendor == "postgresql":
        return [str(row[0]) for row in rows]
    return [
        " | ".join(f"{name}={value}" for name, value in zip(columns, row, strict=False))
        for row in rows
    ]
