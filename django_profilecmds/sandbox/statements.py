"""Which SQL a guarded connection may run: the rules read from the statement text alone.

Literals, comments and quoted identifiers are set aside first, so no keyword inside them counts.
A sandbox connection may not end or restart its transaction, nor release or undo the sandbox's
savepoints (nor, on MySQL and Oracle, run what commits implicitly); a connection outside the
rollback may only read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# String literals and dollar-quoted bodies (kept as an empty literal), comments (dropped) and
# quoted identifiers (kept, without what could pass for quotes or a statement's end): never
# statement keywords. A ``$`` inside an identifier (``a$b``) opens no dollar quote.
_NOISE = re.compile(
    r"'(?:[^']|'')*'|(?<![\w$])\$((?:[A-Za-z_]\w*)?)\$.*?\$\1\$|(--[^\n]*|/\*.*?\*/)"
    r'|("(?:[^"]|"")*"|`[^`]*`)',
    re.S,
)
# The first words of nearly every statement Django runs, none of them transaction control.
DATA_STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE")
_ENDS = {"COMMIT", "END", "ABORT"}
# Statements a connection outside the rollback may run: reads and transaction control
# (harmless where nothing can be written). Anything else would write.
_READS = {
    "SELECT", "WITH", "SHOW", "VALUES", "EXPLAIN", "DECLARE", "FETCH", "CLOSE", "MOVE",
    "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "START", "COMMIT", "END", "SET", "PRAGMA",
}  # fmt: skip
# Ways to turn a read-only PostgreSQL session back into a read-write one.
_READ_WRITE = re.compile(r"\bREAD\s+WRITE\b|READ_ONLY|CHARACTERISTICS", re.I)


def statements(sql: Any) -> list[str]:
    """The statements in ``sql`` (split on ``;``), without literals or comments."""
    if isinstance(sql, bytes):
        sql = sql.decode("utf-8", "replace")
    elif not isinstance(sql, str):
        try:  # a psycopg sql.Composable
            sql = sql.as_string(None)
        except Exception:
            sql = str(sql)
    if "'" in sql or "-" in sql or "/" in sql or "$" in sql or '"' in sql or "`" in sql:
        sql = _NOISE.sub(_quiet, sql)
    return [part.strip() for part in sql.split(";") if part.strip()]


def _quiet(match: re.Match[str]) -> str:
    if match.group(2):  # a comment
        return " "
    if match.group(3):  # a quoted identifier: its word characters only
        return '"' + re.sub(r"\W", "", match.group(3)) + '"'
    return "''"


def _parsed(sql: Any) -> Iterator[tuple[str, list[str], str]]:
    """Each statement of ``sql`` with its words and its first word, upper-cased."""
    for statement in statements(sql):
        words = statement.replace("(", " ").split()
        if words:
            yield statement, words, words[0].upper()


def _savepoint_name(words: list[str]) -> str:
    return words[-1].strip('"`[]').lower() if words else ""


# Statements that commit implicitly on MySQL/MariaDB and Oracle (DDL, TRUNCATE, locks).
_IMPLICIT_COMMIT = {
    "ALTER", "CREATE", "DROP", "RENAME", "TRUNCATE", "LOCK", "UNLOCK", "GRANT", "REVOKE",
    "ANALYZE", "OPTIMIZE", "REPAIR", "FLUSH", "LOAD", "CACHE", "XA",
}  # fmt: skip
_AUTOCOMMIT_ON = re.compile(r"\bAUTOCOMMIT\s*(=|TO)\s*(1|ON|TRUE)\b", re.I)


def implicit_commit_reason(sql: Any) -> str | None:
    """On MySQL and Oracle: why ``sql`` would commit the transaction by itself."""
    for statement, _words, first in _parsed(sql):
        if first in _IMPLICIT_COMMIT:
            return f"{first} commits the transaction implicitly on this database"
        if first == "SET" and _AUTOCOMMIT_ON.search(statement):
            return "it would turn autocommit on, committing the sandbox's transaction"
    return None


def control_reason(sql: Any, protected: set[str]) -> str | None:
    """Why ``sql`` must not run on a sandbox connection, or None when it may."""
    if isinstance(sql, str) and sql[:6].upper() in DATA_STATEMENTS and ";" not in sql:
        return None
    for _statement, words, first in _parsed(sql):
        second = words[1].upper() if len(words) > 1 else ""
        if first in _ENDS or (first == "PREPARE" and second == "TRANSACTION"):
            return "it would commit the sandbox's transaction"
        if first == "BEGIN" or (first == "START" and second == "TRANSACTION"):
            return "it would end the sandbox's transaction and start another"
        if first == "ROLLBACK":
            rest = [w.upper() for w in words[1:] if w.upper() not in ("WORK", "TRANSACTION")]
            if not rest:
                return "it would end the sandbox's transaction"
            if rest[0] == "TO" and _savepoint_name(words) in protected:
                return "it would undo a savepoint the sandbox owns"
        if first == "RELEASE" and _savepoint_name(words) in protected:
            return "it would release a savepoint the sandbox owns"
    return None


def write_reason(sql: Any) -> str | None:
    """Why ``sql`` must not run on a connection outside the rollback, or None for a read."""
    for statement, _words, first in _parsed(sql):
        if first not in _READS:
            return "it would write through a connection outside the sandbox's transaction"
        if first in ("SET", "BEGIN", "START") and _READ_WRITE.search(statement):
            return "it would make a read-only connection writable"
        if first == "PRAGMA" and "=" in statement:
            return "it would change a setting of a connection outside the sandbox"
    return None
