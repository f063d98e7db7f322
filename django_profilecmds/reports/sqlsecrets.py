"""Which values of a SQL statement are secrets: the parameters and literals bound to a column
with a sensitive name, found by reading the statement's tokens.

A value belongs to the column it is compared with (``"u"."password" = %s``, through casts and
functions: ``UPPER("u"."password"::text) = UPPER(%s)``, ``LIKE``, ``IN (%s, %s)``), to the
column an ``UPDATE`` sets (every value of ``SET "api_token" = CASE WHEN ... THEN %s END``, the
form ``bulk_update()`` writes), or to its column of an ``INSERT``'s list, by position.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

TOKEN = re.compile(
    r"""(?P<ph>%s|%\((?P<key>\w+)\)s)
      |(?P<id>"(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\])
      |(?P<str>'(?:[^']|'')*')
      |(?P<cast>::\s*[A-Za-z_]\w*(?:\s*\([\d\s,]*\))?(?:\[\])?)
      |(?P<word>[A-Za-z_]\w*)
      |(?P<op><>|!=|<=|>=|[=<>(),;]|\S)""",
    re.VERBOSE,
)
# Words after which a value no longer belongs to the column before them.
_BOUNDARIES = (
    "AND OR WHERE ON HAVING SELECT FROM JOIN LIMIT OFFSET ORDER GROUP BY VALUES RETURNING "
    "INSERT UPDATE DELETE INTO SET UNION EXCEPT INTERSECT WITH ESCAPE"
)
BOUNDARIES = frozenset(_BOUNDARIES.split())
# Words that are never a column.
_KEYWORDS = (
    "LIKE ILIKE IN IS NOT NULL BETWEEN AS DISTINCT CASE WHEN THEN ELSE END ANY ALL SOME "
    "TRUE FALSE COLLATE REGEXP GLOB MATCH SIMILAR TO AT TIME ZONE INTERVAL ASC DESC EXISTS "
    "INNER LEFT RIGHT OUTER FULL CROSS USING DEFAULT BINARY"
)
KEYWORDS = BOUNDARIES | frozenset(_KEYWORDS.split())
INSERT = re.compile(r"\s*INSERT\s+INTO\s+\S+\s*\(([^)]*)\)\s*VALUES", re.IGNORECASE)


class Bound(NamedTuple):
    """What of one statement is secret: its placeholders by position (``%s``, counting
    ``%(name)s`` too) and by name, and its string literals."""

    positions: frozenset[int]
    names: frozenset[str]
    literals: list[re.Match[str]]


NOTHING = Bound(frozenset(), frozenset(), [])


def bound_values(sql: str, is_sensitive: Callable[[str], bool]) -> Bound:
    """The placeholders and string literals of ``sql`` that belong to a sensitive column."""
    insert = INSERT.match(sql)
    if insert is not None:
        columns = [_unquote(column) for column in insert[1].split(",")]
        count = sum(1 for token in TOKEN.finditer(sql, insert.end()) if token["ph"])
        by_column = {i for i in range(count) if is_sensitive(columns[i % len(columns)])}
        return Bound(frozenset(by_column), frozenset(), [])
    positions: set[int] = set()
    names: set[str] = set()
    literals: list[re.Match[str]] = []
    for index, token in _secret_values(sql, is_sensitive):
        if token["str"]:
            literals.append(token)
        else:
            positions.add(index)
            if token["key"]:
                names.add(token["key"])
    return Bound(frozenset(positions), frozenset(names), literals)


def _secret_values(
    sql: str, is_sensitive: Callable[[str], bool]
) -> Iterator[tuple[int, re.Match[str]]]:
    column = ""  # the column the next value is compared with
    target = ""  # the column an UPDATE's SET is assigning
    in_set = expect_target = False
    depth = set_depth = 0
    placeholder = -1
    tokens = list(TOKEN.finditer(sql))
    for position, token in enumerate(tokens):
        kind = token.lastgroup
        if kind == "key":
            kind = "ph"
        text = token[0]
        if kind == "ph":
            placeholder += 1
        if kind in ("ph", "str"):
            owner = target if in_set and target else column
            if owner and is_sensitive(owner):
                yield placeholder, token
        elif kind == "id":
            column = _unquote(text)
        elif kind == "word":
            word = text.upper()
            following = tokens[position + 1][0] if position + 1 < len(tokens) else ""
            if word in BOUNDARIES:
                column = ""
                if word == "SET":
                    in_set, expect_target, set_depth, target = True, True, depth, ""
                elif in_set and word in ("WHERE", "FROM", "RETURNING"):
                    in_set, target = False, ""
            elif word not in KEYWORDS and following != "(":
                column = text
        elif text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        elif in_set and depth == set_depth:
            if text == "=" and expect_target:
                target, expect_target = column, False
            elif text == ",":
                target, expect_target, column = "", True, ""


def mask_literals(sql: str, literals: list[re.Match[str]], mask: str) -> str:
    """``sql`` with the given string literals replaced by ``'mask'``."""
    for literal in reversed(literals):
        sql = f"{sql[: literal.start()]}'{mask}'{sql[literal.end() :]}"
    return sql


STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")


def mask_plan_line(line: str, is_sensitive_text: Callable[[str], bool], mask: str) -> str:
    """An EXPLAIN line: when it names a sensitive column, every string literal in it (the
    values a plan quotes: ``Filter: ((password)::text ~~ '%...%'::text)``) is masked."""
    if "'" in line and is_sensitive_text(line):
        return STRING_LITERAL.sub(f"'{mask}'", line)
    return line


def _unquote(identifier: str) -> str:
    return identifier.strip().strip('"`[]')
