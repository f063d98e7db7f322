"""SQL analysis: normalisation, similar and duplicate groups, N+1 detection with hints.

Pure functions over recorded queries; nothing here touches the database.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django_profilecmds.analysis.hints import SELECT_KINDS, Fix, hint_for

if TYPE_CHECKING:
    from django_profilecmds.collectors.origins import LibraryFrame
    from django_profilecmds.collectors.relations import Relation
    from django_profilecmds.collectors.sql import QueryRecord

NO_PROJECT_CODE = "(no project code)"

_TOKENS = re.compile(
    r"""
    (?P<comment>--[^\n]*|/\*.*?\*/)
    |(?P<string>'(?:[^']|'')*'|E'(?:[^'\\]|\\.|'')*')
    |(?P<ident>"(?:[^"]|"")*"|`[^`]*`)
    |(?P<cast>::)
    |(?P<param>%\([^)]+\)s|%s|\?|\$\d+|:[A-Za-z_]\w*)
    |(?P<number>(?<![\w.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.]))
    |(?P<word>[^\W\d]\w*)
    |(?P<space>\s+)
    |(?P<other>.)
    """,
    re.DOTALL | re.VERBOSE,
)
_IN_LIST = re.compile(r"\bIN \((?:\?, )*\?\)", re.IGNORECASE)
_VALUES_ROWS = re.compile(r"\((?:\?, )*\?\)(?:, \((?:\?, )*\?\))+")
# The words after which an ORDER BY or GROUP BY list is over (MySQL's LIMIT 5, 10 is no list).
_LIST_ENDS = frozenset(
    {
        *("LIMIT", "OFFSET", "FETCH", "FOR", "HAVING", "WINDOW", "RETURNING"),
        *("UNION", "INTERSECT", "EXCEPT", "SELECT", "FROM", "WHERE", "ON", "INTO", "VALUES", "SET"),
    }
)


@lru_cache(maxsize=8192)  # an N+1 repeats the same SQL string (the parameters differ)
def normalize(sql: str) -> str:
    """The shape of a statement: literals, numbers and placeholders become ``?``, IN lists
    and multi-row VALUES collapse, comments go and white space is folded. A number that
    names a column by its position (``ORDER BY 1 ASC``, ``GROUP BY 1, 2``) stays."""
    tokens = [(match.lastgroup or "other", match.group()) for match in _TOKENS.finditer(sql)]
    positions = _column_positions(tokens)
    parts: list[str] = []
    for index, (kind, token) in enumerate(tokens):
        if kind in ("space", "comment"):  # a comment separates words as a space does
            if parts and parts[-1] != " ":
                parts.append(" ")
        elif kind in ("string", "param", "number") and index not in positions:
            parts.append("?")
        else:
            parts.append(token)
    text = "".join(parts).strip()
    text = re.sub(r"\( ", "(", re.sub(r" \)", ")", re.sub(r" ?, ?", ", ", text)))
    text = _IN_LIST.sub("IN (...)", text)
    return _VALUES_ROWS.sub("(...)", text)


def _column_positions(tokens: list[tuple[str, str]]) -> set[int]:
    """The indices of the numbers that are an item of a query's ORDER BY or GROUP BY list on
    their own (``ORDER BY 1 ASC, 2``): Django orders a union, and groups, by column position.
    A number in an expression (``a + 1``, ``COALESCE(a, 0)``), and an ORDER BY inside a
    function's or a window's parentheses, are literals."""
    significant = [
        (index, kind, token)
        for index, (kind, token) in enumerate(tokens)
        if kind not in ("space", "comment")
    ]
    positions: set[int] = set()
    queries: list[bool | None] = []  # per open parenthesis: whether a query starts in it
    list_depth: int | None = None  # the depth of the ORDER BY or GROUP BY list we are in
    item_starts = False
    before = ""
    for number, (index, kind, token) in enumerate(significant):
        word = token.upper() if kind == "word" else ""
        if queries and queries[-1] is None:
            queries[-1] = word in ("SELECT", "WITH")
        starts = False
        if kind == "other" and token in "()":
            if token == "(":
                queries.append(None)
            elif queries:
                queries.pop()
            if list_depth is not None and len(queries) < list_depth:
                list_depth = None
        elif word == "BY" and before in ("ORDER", "GROUP"):
            if not queries or queries[-1]:
                list_depth, starts = len(queries), True
        elif list_depth == len(queries):
            if word in _LIST_ENDS:
                list_depth = None
            elif token == ",":
                starts = True
            elif kind == "number" and item_starts and token.isdigit():
                after = significant[number + 1] if number + 1 < len(significant) else None
                # Alone in its item: ASC, DESC, NULLS, the next item or the list's end follow.
                if after is None or after[1] == "word" or after[2] in (",", ")", ";"):
                    positions.add(index)
        item_starts = starts
        before = word
    return positions


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
    """A similar-query group run again and again from one line of code (or, with no project
    code in its stack, from one library frame)."""

    shape: str
    count: int
    duration: float
    origin: str
    stack: list[str]
    template: str | None
    loop: str | None  # "template:line" of the {% for %} that drives it, in any template
    hint: str
    sample: str
    fix: Fix | None = None  # the checked change to the looped queryset, when there is one
    # The line rendering in each template, from the innermost out to the loop's template.
    templates: list[str] = field(default_factory=list)
    # With no project frame: the library frames that ran it, and the one that loops.
    library: list[str] = field(default_factory=list)
    library_loop: str | None = None


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
    by_line: dict[tuple[Any, ...], list[QueryRecord]] = defaultdict(list)
    for query in queries:
        shape = normalize(query.sql)
        group = groups.get(shape)
        if group is None:
            group = groups[shape] = QueryGroup(shape, sample=query.sql)
        group.count += 1
        group.duration += query.duration
        origin = describe_frame(query.origin) if query.origin else NO_PROJECT_CODE
        group.origins[origin] = group.origins.get(origin, 0) + 1
        key = (query.run, query.sql, params_key(query.params))
        seen[key] += 1
        if seen[key] > 1:
            group.duplicates += 1
        library = query.library[0][:3] if query.library else None
        by_line[(shape, origin, query.template, library, query.relation)].append(query)
    repeated = [
        (key, members)
        for key, members in by_line.items()
        if len(members) // runs >= threshold and (key[1] != NO_PROJECT_CODE or key[2] or key[3])
    ]
    positions = {id(query): index for index, query in enumerate(queries)}
    taken: set[str] = set()  # the to_attr names given so far: each Prefetch gets its own
    flags = [
        _flag(
            key,
            members,
            runs,
            _outer(members, repeated, positions) or _joined(members[0].relation, queries),
            taken,
        )
        for key, members in repeated
    ]
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


def _outer(
    members: list[QueryRecord],
    repeated: list[tuple[tuple[Any, ...], list[QueryRecord]]],
    positions: dict[int, int],
) -> list[Relation]:
    """The relations of the other N+1 groups that may load, row for row, the rows ``members``
    read their relation on: forward relations whose queries alternate with these (novel.writer,
    then writer.publisher, for each novel; and novel.writer.publisher.country's two outer
    groups). Two loops one after the other do not alternate, whatever their models; a
    self-referential relation is never taken for a chain (e.manager beside e.mentor)."""
    relation = members[0].relation
    if relation is None:
        return []
    mine = [positions[id(query)] for query in members]
    found = []
    for _key, others in repeated:
        other = others[0].relation
        if other is None or other.kind not in SELECT_KINDS or other.model == other.target:
            continue
        if others is members or other == relation:
            continue
        if _alternate([positions[id(query)] for query in others], mine):
            found.append(other)
    return found


_FROM = re.compile(r'\bFROM "?(\w+)"?', re.IGNORECASE)
_JOIN = re.compile(r'\bJOIN "?(\w+)"?', re.IGNORECASE)


def _joined(relation: Relation | None, queries: list[QueryRecord]) -> list[Relation]:
    """When no N+1 group loads the rows a relation is read on, they may have come joined to
    the looped rows (select_related("writer") already there, writer.profile per row): the
    forward relations from the model of the first plain query that joined their table, and
    only if no plain query read that table on its own."""
    if relation is None:
        return []
    from django.apps import apps

    try:
        table = apps.get_model(relation.model)._meta.db_table
    except LookupError:
        return []
    tables = {model._meta.db_table: model for model in apps.get_models()}
    for query in queries:
        if query.relation is not None or not query.sql.lstrip().upper().startswith("SELECT"):
            continue
        main = _FROM.search(query.sql)
        if main is None:
            continue
        if main.group(1) == table:
            return []  # the rows were read on their own: their own queryset is the loop's
        joined = set(_JOIN.findall(query.sql))
        if table in joined and main.group(1) in tables:
            return _forward_path(tables[main.group(1)], relation.model, joined)
    return []


def _forward_path(start: Any, label: str, joined: set[str]) -> list[Relation]:
    """Forward relations from ``start`` to the model ``label`` through joined tables, at
    most two, as the relations an outer group would have had."""
    from django_profilecmds.collectors.relations import Relation

    paths: list[tuple[Any, list[Relation]]] = [(start, [])]
    for _depth in range(2):
        found = []
        for model, path in paths:
            for relation_field in model._meta.concrete_fields:
                target = relation_field.related_model
                if (
                    not relation_field.is_relation
                    or target is None
                    or not (relation_field.many_to_one or relation_field.one_to_one)
                ):
                    continue
                if target._meta.db_table not in joined:
                    continue
                step = Relation(
                    "forward", model._meta.label, relation_field.name, target._meta.label
                )
                if target._meta.label == label:
                    return [*path, step]
                found.append((target, [*path, step]))
        paths = found
    return []


def _alternate(outer: list[int], inner: list[int]) -> bool:
    """Whether nearly every query at ``inner`` positions comes right after one at ``outer``
    positions, the others of neither group between them."""
    marks = sorted([(position, 0) for position in outer] + [(position, 1) for position in inner])
    pairs = zip(marks, marks[1:], strict=False)
    follows = sum(1 for before, after in pairs if before[1] == 0 and after[1] == 1)
    return follows >= 0.8 * len(inner)


def _flag(
    key: tuple[Any, ...],
    members: list[QueryRecord],
    runs: int,
    outer: list[Relation],
    taken: set[str],
) -> NPlusOne:
    shape, origin, template, _where, relation = key
    first = members[0]
    looping = _library_loop(first.library)
    # Library frames are shown when they are where the query comes from: no project frame
    # ran it, or the loop is the library's (a serializer's, the admin's).
    shown = first.library if origin == NO_PROJECT_CODE or looping else ()
    if origin != NO_PROJECT_CODE:
        caller = _function(first.stack[0][2])
    elif template:
        caller = f"{template[0]}:{template[1]}"
    else:
        caller = _function(first.library[0][2]) if first.library else ""
    hint = hint_for(relation, shape, caller, outer, first.alias, taken)
    return NPlusOne(
        shape=shape,
        count=len(members) // runs,
        duration=sum(q.duration for q in members) / runs,
        origin=origin,
        stack=[describe_frame(frame) for frame in first.stack],
        template=f"{template[0]}:{template[1]}" if template else None,
        loop=f"{first.loop[0]}:{first.loop[1]}" if first.loop else None,
        hint=hint.text,
        sample=first.sql,
        fix=hint.fix,
        templates=[f"{name}:{line}" for name, line in first.templates],
        library=[_describe_library(frame) for frame in shown],
        library_loop=(
            f"{_library_path(looping[0])}:{looping[1]} in {_function(looping[2])}"
            if looping and shown
            else None
        ),
    )


def _library_loop(frames: tuple[LibraryFrame, ...]) -> tuple[str, int, str] | None:
    """The outermost library frame in a for loop, with the loop's line: the inner loops go
    over a row's fields or attributes. Read from the bytecode here, for N+1s only."""
    from django_profilecmds.collectors.origins import loop_line

    for filename, _line, function, code, offset in reversed(frames):
        line = loop_line(code, offset)
        if line is not None:
            return (filename, line, function)
    return None


def _function(qualname: str) -> str:
    """A function's name as its code reads: a comprehension is its function's."""
    return qualname.split(".<locals>.<", 1)[0] if ".<locals>.<" in qualname else qualname


def _describe_library(frame: LibraryFrame) -> str:
    filename, line, function, _code, _offset = frame
    return f"{_library_path(filename)}:{line} in {function}"


@lru_cache(maxsize=1024)
def _library_path(filename: str) -> str:
    """A library file from its package on: ``rest_framework/serializers.py``."""
    import sys

    best = filename
    for root in sys.path:
        if root and filename.startswith(root.rstrip("/") + "/"):
            relative = filename[len(root.rstrip("/")) + 1 :]
            if len(relative) < len(best):
                best = relative
    return best
