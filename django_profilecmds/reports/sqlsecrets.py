"""Which values of a SQL statement are secrets: the parameters and literals bound to a column
with a sensitive name, found by reading the statement's tokens.

A value belongs to the column it is compared with, on either side (``"u"."password" = %s``,
``%s = "u"."api_token"``, through casts and functions: ``UPPER("u"."password"::text) =
UPPER(%s)``, ``LIKE``, ``IN (%s, %s)``, both bounds of ``BETWEEN``, ``IS NOT DISTINCT FROM``),
or to a sensitive column named in the brackets it is compared with (``("api_token", "id") =
(%s, %s)``); to the column an ``UPDATE`` sets (``SET "api_token" = CASE WHEN ... THEN %s END``,
the form ``bulk_update()`` writes); or to the column at its place in an ``INSERT``: in each row
of ``VALUES``, in the list of an ``INSERT ... SELECT``, or among the arrays of ``UNNEST`` (the
form ``bulk_create()`` writes on PostgreSQL, an array parameter per column).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

TOKEN = re.compile(
    r"""(?P<comment>--[^\n]*|/\*(?s:.*?)\*/)
      |(?P<ph>%s|%\((?P<key>\w+)\)s)
      |(?P<id>"(?:[^"]|"")+"|`[^`]+`|\[[A-Za-z_][^\],%]*\])
      |(?P<str>[Ee]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*')
      |(?P<cast>::\s*[A-Za-z_]\w*(?:\s*\([\d\s,]*\))?(?:\[\])?)
      |(?P<word>[A-Za-z_]\w*)
      |(?P<op><>|!=|<=|>=|%%|[=<>(),;]|\S)""",
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
    "INNER LEFT RIGHT OUTER FULL CROSS USING DEFAULT BINARY ARRAY ROW"
)
KEYWORDS = BOUNDARIES | frozenset(_KEYWORDS.split())
COMPARISONS = frozenset(("=", "<>", "!=", "<", ">", "<=", ">="))
# What makes a bracketed expression before it the left side of a comparison.
_COMPARED = "IN LIKE ILIKE NOT IS BETWEEN SIMILAR REGEXP GLOB"
COMPARED = COMPARISONS | frozenset(_COMPARED.split())

# Where the reading is. PLAIN: values belong to the column last named. SET: to the column
# assigned. An INSERT goes INSERT (before its column list), COLUMNS (in it), ROWS (after it),
# then VALUES (values by their place in each bracketed row), SELECT (by their place in the
# select list) or UNNEST (by their place among its arguments), and back to ROWS, where a
# UNION ... SELECT gives another row.
PLAIN, SET, INSERT, COLUMNS, ROWS, VALUES, SELECT, UNNEST = range(8)
ROW_DEPTH = {VALUES: 1, SELECT: 0, UNNEST: 1}  # of a row's places, below the INSERT's depth
AFTER_COLUMNS = {"VALUES": VALUES, "SELECT": SELECT, "ON": PLAIN, "RETURNING": PLAIN}


class Bound(NamedTuple):
    """What of one statement is secret: its placeholders by position (``%s``, counting
    ``%(name)s`` too) and by name, and its string literals."""

    positions: frozenset[int]
    names: frozenset[str]
    literals: list[re.Match[str]]


NOTHING = Bound(frozenset(), frozenset(), [])
# After the last token of a statement, so that every other token has one after it.
END = next(TOKEN.finditer(";"))


def bound_values(sql: str, is_sensitive: Callable[[str], bool]) -> Bound:
    """The placeholders and string literals of ``sql`` that belong to a sensitive column."""
    positions: set[int] = set()
    names: set[str] = set()
    literals: list[re.Match[str]] = []
    tokens = [*TOKEN.finditer(sql), END]
    for index, token in _secret_values(tokens, is_sensitive):
        if token["str"]:
            literals.append(token)
        else:
            positions.add(index)
            if token["key"]:
                names.add(token["key"])
    if tokens[0][0].upper() == "WITH" and _writes_sensitive(tokens, is_sensitive):
        # WITH t(v) AS (SELECT 'x') UPDATE ... SET api_token = (SELECT v FROM t): the value
        # reaches the column through a name; every literal of such a statement is masked.
        seen = {literal.start() for literal in literals}
        literals += [t for t in tokens if t["str"] and t.start() not in seen]
        literals.sort(key=lambda literal: literal.start())
    return Bound(frozenset(positions), frozenset(names), literals)


def _writes_sensitive(tokens: list[re.Match[str]], is_sensitive: Callable[[str], bool]) -> bool:
    """Whether the statement assigns (SET col =) or inserts into a sensitive column."""
    before: set[str] = set()  # the keywords seen so far
    for position, token in enumerate(tokens[:-1]):
        if token.lastgroup in ("id", "word") and is_sensitive(_unquote(token[0])):
            following = tokens[position + 1][0]
            if following == "=" and "SET" in before:
                return True
            if before & {"INSERT", "REPLACE"} and following in (",", ")"):
                return True
        before.add(token[0].upper())
    return False


def _secret_values(
    tokens: list[re.Match[str]], is_sensitive: Callable[[str], bool]
) -> Iterator[tuple[int, re.Match[str]]]:
    """Each value (its placeholder's number, its token) that belongs to a sensitive column."""
    column = ""  # the column last named: a value after it is compared with it
    target = ""  # the column a value is written to: assigned by SET, or by its place
    state = PLAIN
    depth = base = 0  # bracket depth, and that of the INSERT's or SET's own clauses
    columns: list[str] = []  # the INSERT's column list
    item = 0  # the place of the value in an INSERT's row
    expect_target = False  # in SET, before the "=" of an assignment
    between = False  # after BETWEEN, before the AND between its bounds
    condition = False  # between WHEN and THEN: values are tested, not assigned
    # Per open bracket, the sensitive column named inside it: ("api_token", "id") = (%s, %s)
    # and COALESCE("api_token", "name") = %s compare with it, whatever is named last.
    bracketed: list[str] = []
    placeholder = -1
    for position, token in enumerate(tokens):
        kind, text = token.lastgroup, token[0]
        if kind in ("ph", "key", "str"):
            if kind != "str":
                placeholder += 1
            if (
                (target and not condition and is_sensitive(target))
                or (column and is_sensitive(column))
                or is_sensitive(_named_after(tokens, position))
            ):
                yield placeholder, token
        elif state == COLUMNS and kind in ("id", "word"):
            columns.append(_unquote(text))  # any word: a column may be called "time"
        elif kind in ("id", "word") and position and tokens[position - 1][0].upper() == "AS":
            pass  # an alias (or a type) names no column that the values after it belong to
        elif kind == "id":
            column = _unquote(text)
            _remember(bracketed, column, is_sensitive)
        elif kind == "word":
            word = text.upper()
            following = tokens[position + 1][0]
            previous = tokens[position - 1][0].upper() if position else ""
            if (word, between) == ("AND", True) or (word, previous) == ("FROM", "DISTINCT"):
                between = False  # BETWEEN x AND y, IS [NOT] DISTINCT FROM y: the same column's
            elif word in BOUNDARIES or (word, following.upper()) == ("REPLACE", "INTO"):
                column, between = "", False
                if word in ("INSERT", "REPLACE"):  # REPLACE INTO: SQLite's and MySQL's upsert
                    state, base, columns = INSERT, depth, []
                elif word == "SET":
                    state, base, target, expect_target = SET, depth, "", True
                elif depth == base and state != PLAIN:
                    new = _next_state(state, word, following.upper())
                    if new != state:
                        state, item, target = new, 0, _at(columns, 0) if new == SELECT else ""
            elif word == "BETWEEN":
                between = True
            elif word in ("WHEN", "THEN"):
                condition = word == "WHEN"
            elif word not in KEYWORDS and following != "(":
                column = text
                _remember(bracketed, column, is_sensitive)
        elif text == "(":
            if state == INSERT and depth == base:
                state = COLUMNS
            elif state == VALUES and depth == base:  # a row
                item, target = 0, _at(columns, 0)
            elif state == UNNEST and depth == base:
                target = _at(columns, 0)
            depth += 1
            bracketed.append("")
        elif text == ")":
            depth -= 1
            inside = bracketed.pop() if bracketed else ""
            if inside:
                _remember(bracketed, inside, is_sensitive)
                if tokens[_next(tokens, position)][0].upper() in COMPARED:
                    column = inside
            if depth < base:  # the end of a statement in brackets (a WITH's)
                state, base, target = PLAIN, depth, ""
            elif depth == base and state in (COLUMNS, VALUES, UNNEST):
                column, target = "", ""  # the end of the column list, of a row, of the arrays
                state = VALUES if state == VALUES else ROWS
        elif text == "," and depth - base == ROW_DEPTH.get(state):  # the next place of a row
            item += 1
            column, target = "", _at(columns, item)
        elif state == SET and depth == base:
            if text == "=" and expect_target:
                target, expect_target = column, False
            elif text == ",":
                target, expect_target, column = "", True, ""


def _next_state(state: int, word: str, following: str) -> int:
    """The state after a clause's keyword at the depth of the INSERT or SET."""
    if state == INSERT:  # VALUES or SELECT without a column list: no place says anything
        return PLAIN if word in ("VALUES", "SELECT") else INSERT  # (INSERT OR IGNORE INTO)
    if state == ROWS:
        return AFTER_COLUMNS.get(word, ROWS)
    if state == SELECT:  # the end of a select list: FROM UNNEST(...) gives the values instead
        return UNNEST if word == "FROM" and following == "UNNEST" else ROWS
    if state == SET:
        return PLAIN if word in ("WHERE", "FROM", "RETURNING") else SET
    return PLAIN  # after VALUES: ON CONFLICT, RETURNING


def _named_after(tokens: list[re.Match[str]], position: int) -> str:
    """The column a value comes before: compared with it (``%s = "t"."api_token"``, through
    casts, brackets and functions: ``%s::text = UPPER("t"."password")``) or named after it
    (``%s AS "api_token"``)."""
    after = _next(tokens, position)
    operator = tokens[after][0]
    if operator not in COMPARISONS and operator.upper() != "AS":
        return ""
    name = ""
    for token in tokens[after + 1 : after + 10]:
        kind = token.lastgroup
        if kind == "id" or kind == "word" and token[0].upper() not in KEYWORDS:
            name = _unquote(token[0])  # a table, a function, then the column
        elif token[0] not in ("(", "."):
            break
    return name


def _next(tokens: list[re.Match[str]], position: int) -> int:
    """The index of the token after ``position``, past a cast."""
    after = position + 1
    return after + 1 if tokens[after].lastgroup == "cast" else after


def _remember(bracketed: list[str], name: str, is_sensitive: Callable[[str], bool]) -> None:
    """Note a sensitive column named inside the innermost open bracket (the first one)."""
    if bracketed and not bracketed[-1] and is_sensitive(name):
        bracketed[-1] = name


def _at(columns: list[str], item: int) -> str:
    return columns[item] if item < len(columns) else ""


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
