"""SQL analysis: normalisation, similar and duplicate groups, N+1 detection with hints.

Pure functions over recorded queries; nothing here touches the database.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django_profilecmds.collectors.sql import QueryRecord

_TOKENS = re.compile(
    r"""
    (?P<comment>--[^\n]*|/\*.*?\*/)
    |(?P<string>'(?:[^']|'')*'|E'(?:[^'\\]|\\.|'')*')
    |(?P<ident>"(?:[^"]|"")*"|`[^`]*`)
    |(?P<cast>::)
    |(?P<param>%\([^)]+\)s|%s|\?|\$\d+|:[A-Za-z_]\w*)
    |(?P<number>(?<![\w.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.]))
    |(?P<space>\s+)
    |(?P<other>.)
    """,
    re.DOTALL | re.VERBOSE,
)
_IN_LIST = re.compile(r"\bIN \((?:\?, )*\?\)", re.IGNORECASE)
_VALUES_ROWS = re.compile(r"\((?:\?, )*\?\)(?:, \((?:\?, )*\?\))+")


@lru_cache(maxsize=8192)  # an N+1 repeats the same SQL string (the parameters differ)
def normalize(sql: str) -> str:
    """The shape of a statement: literals, numbers and placeholders become ``?``, IN lists
    and multi-row VALUES collapse, comments go and white space is folded."""
    parts: list[str] = []
    for match in _TOKENS.finditer(sql):
        kind = match.lastgroup
        if kind == "comment":
            continue
        if kind == "space":
            if parts and parts[-1] != " ":
                parts.append(" ")
        elif kind in ("string", "param", "number"):
            parts.append("?")
        else:
            parts.append(match.group())
    text = "".join(parts).strip()
    text = re.sub(r"\( ", "(", re.sub(r" \)", ")", re.sub(r" ?, ?", ", ", text)))
    text = _IN_LIST.sub("IN (...)", text)
    return _VALUES_ROWS.sub("(...)", text)


def params_key(params: Any) -> str:
    return repr(params)


@dataclass
class QueryGroup:
    """Queries of the same shape."""

    shape: str
    count: int = 0
    duration: float = 0.0
    duplicates: int = 0  # executions beyond the first with the same SQL and parameters
    origins: dict[str, int] = field(default_factory=dict)
    sample: str = ""

    @property
    def top_origin(self) -> str:
        return max(self.origins, key=lambda k: self.origins[k]) if self.origins else ""


@dataclass
class NPlusOne:
    """A similar-query group run again and again from one line of code."""

    shape: str
    count: int
    duration: float
    origin: str
    stack: list[str]
    template: str | None
    loop: str | None
    hint: str
    sample: str


@dataclass
class SqlAnalysis:
    total: int
    duration: float
    runs: int
    groups: list[QueryGroup]
    duplicates: int
    nplusone: list[NPlusOne]
    explains: list[dict[str, Any]] = field(default_factory=list)

    def per_run(self, value: float) -> float:
        return value / self.runs if self.runs else value


def describe_frame(frame: tuple[str, int, str], root: str | None = None) -> str:
    filename, line, function = frame
    return f"{_short_path(filename, root)}:{line} in {function}"


@lru_cache(maxsize=4096)
def _short_path(filename: str, root: str | None) -> str:
    import os

    root = root or os.getcwd()
    try:
        relative = os.path.relpath(filename, root)
    except ValueError:
        return filename
    return filename if relative.startswith("..") else relative


def analyse(queries: list[QueryRecord], runs: int, threshold: int = 5) -> SqlAnalysis:
    """Group the queries of ``runs`` counted runs and flag N+1 patterns (per-run counts)."""
    runs = max(runs, 1)
    groups: dict[str, QueryGroup] = {}
    seen: dict[tuple[int, str, str], int] = defaultdict(int)
    by_line: dict[tuple[str, str, tuple[str, int] | None], list[QueryRecord]] = defaultdict(list)
    for query in queries:
        shape = normalize(query.sql)
        group = groups.get(shape)
        if group is None:
            group = groups[shape] = QueryGroup(shape, sample=query.sql)
        group.count += 1
        group.duration += query.duration
        origin = describe_frame(query.origin) if query.origin else "(no project code)"
        group.origins[origin] = group.origins.get(origin, 0) + 1
        key = (query.run, query.sql, params_key(query.params))
        seen[key] += 1
        if seen[key] > 1:
            group.duplicates += 1
        by_line[(shape, origin, query.template)].append(query)
    flags = []
    tables = _tables_in(queries)
    for (shape, origin, template), members in by_line.items():
        count = len(members) // runs
        if count < threshold or origin == "(no project code)" and template is None:
            continue
        first = members[0]
        flags.append(
            NPlusOne(
                shape=shape,
                count=count,
                duration=sum(q.duration for q in members) / runs,
                origin=origin,
                stack=[describe_frame(frame) for frame in first.stack],
                template=f"{template[0]}:{template[1]}" if template else None,
                loop=f"{template[0]}:{first.loop_line}" if template and first.loop_line else None,
                hint=suggest_fix(shape, tables),
                sample=first.sql,
            )
        )
    flags.sort(key=lambda flag: flag.duration, reverse=True)
    ordered = sorted(groups.values(), key=lambda g: g.duration, reverse=True)
    return SqlAnalysis(
        total=len(queries),
        duration=sum(q.duration for q in queries),
        runs=runs,
        groups=ordered,
        duplicates=sum(g.duplicates for g in ordered),
        nplusone=flags,
    )


_Q = r"[\"`]?"
_WHERE_EQ = re.compile(rf"\bWHERE {_Q}(\w+){_Q}\.{_Q}(\w+){_Q} = \?", re.IGNORECASE)
_FROM = re.compile(rf"\b(?:FROM|JOIN) {_Q}(\w+){_Q}", re.IGNORECASE)


@lru_cache(maxsize=8192)
def _tables_of(sql: str) -> tuple[str, ...]:
    return tuple(_FROM.findall(sql))


def _tables_in(queries: Iterable[QueryRecord]) -> dict[str, int]:
    """Each table the queries touched, with the position of the first query that did."""
    first: dict[str, int] = {}
    for position, query in enumerate(queries):
        for table in _tables_of(query.sql):
            first.setdefault(table, position)
    return first


def suggest_fix(shape: str, tables_seen: dict[str, int] | set[str]) -> str:
    """A concrete hint from the query's shape and the project's models."""
    match = _WHERE_EQ.search(shape)
    if match is None:
        return "Fetch these rows in one query (select_related / prefetch_related / in_bulk)."
    table, column = match.groups()
    from django.apps import apps

    models = {model._meta.db_table: model for model in apps.get_models(include_auto_created=True)}
    model = models.get(table)
    if model is None:
        return "Fetch these rows in one query (select_related / prefetch_related / in_bulk)."
    if column == model._meta.pk.column:
        # One row by primary key per iteration: a forward relation, select_related. The model
        # whose rows were listed first (the loop's queryset) is the likeliest owner.
        order = tables_seen if isinstance(tables_seen, dict) else dict.fromkeys(tables_seen, 0)
        candidates = [
            (order[other._meta.db_table], other, relation)
            for other in apps.get_models()
            if other is not model and other._meta.db_table in order
            for relation in other._meta.concrete_fields
            if relation.is_relation and relation.related_model is model
        ]
        if candidates:
            _position, other, relation = min(candidates, key=lambda c: c[0])
            return (
                f'Add select_related("{relation.name}") to the {other.__name__} '
                "queryset (one JOIN instead of a query per row)."
            )
        return f"Load the {model.__name__} rows with select_related() or in_bulk()."
    for relation in model._meta.concrete_fields:
        if relation.is_relation and relation.column == column and relation.related_model:
            parent = relation.related_model
            if model._meta.auto_created:
                # The through table of a ManyToManyField.
                for m2m in parent._meta.many_to_many:
                    if m2m.remote_field.through is model:
                        name = m2m.name
                        break
                else:
                    name = relation.name
            else:
                name = str(relation.remote_field.get_accessor_name())  # type: ignore[union-attr]
            return (
                f'Add prefetch_related("{name}") to the {parent.__name__} queryset '
                "(one query for all rows; use Prefetch() to keep an ordering or filter)."
            )
    return "Fetch these rows in one query (select_related / prefetch_related / in_bulk)."
