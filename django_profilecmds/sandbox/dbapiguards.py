"""Guards below Django, on the DB-API connection, and :func:`arm`, which installs a guard.

On SQLite an authorizer makes the engine refuse what a :class:`.guards.Guard` refuses (so
``connection.connection.commit()``, ``executescript()`` and raw DB-API cursors are caught); on
PostgreSQL psycopg's ``commit()``, ``rollback()`` and cursors are guarded, and a connection
outside the rollback is made read-only by the database itself. Other backends, and connections
opened during a run, get the guard as an execute wrapper.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any

from django.db import DatabaseError

from django_profilecmds.sandbox.guards import Guard
from django_profilecmds.sandbox.statements import DATA_STATEMENTS

_OK, _DENY = sqlite3.SQLITE_OK, sqlite3.SQLITE_DENY
_TRANSACTION, _SAVEPOINT, _PRAGMA = (
    sqlite3.SQLITE_TRANSACTION,
    sqlite3.SQLITE_SAVEPOINT,
    sqlite3.SQLITE_PRAGMA,
)
_SQLITE_NAMES = {
    getattr(sqlite3, name): name[len("SQLITE_") :].replace("_", " ")
    for name in dir(sqlite3)
    if name.startswith("SQLITE_")
    and isinstance(getattr(sqlite3, name), int)
    and any(
        name.startswith(f"SQLITE_{kind}")
        for kind in ("CREATE", "DROP", "INSERT", "UPDATE", "DELETE", "ALTER", "ATTACH", "DETACH")
    )
}
_SQLITE_WRITES = frozenset(_SQLITE_NAMES) | {
    getattr(sqlite3, name, -1) for name in ("SQLITE_REINDEX", "SQLITE_ANALYZE")
}


# SQLite's authorizers: the engine asks before it compiles each statement, once per action.
def _authorize_own(
    guard: Guard, action: int, arg1: Any, arg2: Any, database: Any, trigger: Any
) -> int:
    if action != _TRANSACTION and action != _SAVEPOINT or guard.allow:
        return _OK
    if action == _TRANSACTION:
        guard.refuse(str(arg1), "it would end the sandbox's transaction (DB-API level)")
        return _DENY
    if arg1 != "BEGIN" and str(arg2).lower() in guard.protected:
        guard.refuse(f"{arg1} {arg2}", "it would end a savepoint the sandbox owns")
        return _DENY
    return _OK


def _authorize_other(
    guard: Guard, action: int, arg1: Any, arg2: Any, database: Any, trigger: Any
) -> int:
    if action in _SQLITE_WRITES or (action == _PRAGMA and arg2 is not None):
        what = _SQLITE_NAMES.get(action, "write")
        guard.refuse(
            f"{what} {arg1 or ''}".strip(),
            "it would write through a connection outside the sandbox's transaction",
        )
        return _DENY
    return _OK


def _authorizer(guard: Guard) -> Callable[[int, Any, Any, Any, Any], int]:
    """The SQLite authorizer for ``guard``'s connection."""
    return partial(_authorize_own if guard.own else _authorize_other, guard)


def _guarded_cursor_class(base: type, guard: Guard) -> type:
    """A subclass of a psycopg cursor class whose statements the guard checks first."""

    class GuardedCursor(base):  # type: ignore[misc]
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            # The common case on the sandbox's own connection: one statement, not control.
            fast = guard.own and type(query) is str and query.startswith(DATA_STATEMENTS)
            if not fast or ";" in query:
                guard.check(query)
            return super().execute(query, *args, **kwargs)

        def executemany(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            guard.check(query)
            return super().executemany(query, *args, **kwargs)

        def stream(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            guard.check(query)
            return super().stream(query, *args, **kwargs)

    GuardedCursor.__name__ = GuardedCursor.__qualname__ = f"Guarded{base.__name__}"
    return GuardedCursor


def _refuse(guard: Guard, name: str, original: Callable[[], Any]) -> Callable[[], Any]:
    """``commit()`` or ``rollback()`` of a DB-API connection, refused unless the sandbox
    itself is rolling back."""

    def refused() -> Any:
        if guard.allow:
            return original()
        raise guard.refuse(f"{name}()", "it would end the sandbox's transaction (DB-API level)")

    return refused


def _guard_psycopg(raw: Any, guard: Guard, undo: list[Callable[[], None]]) -> bool:
    """Guard psycopg 3's ``commit()``, ``rollback()`` and cursors; False where the connection
    cannot take it (psycopg2's C type has no instance attributes), and the execute wrapper
    then stays the guard."""
    try:
        factory = raw.cursor_factory
        vars(raw)  # raises TypeError without a __dict__
        raw.commit = _refuse(guard, "commit", raw.commit)
        raw.rollback = _refuse(guard, "rollback", raw.rollback)
        raw.cursor_factory = _guarded_cursor_class(factory, guard)
    except (AttributeError, TypeError):
        for name in ("commit", "rollback"):
            with suppress(AttributeError, TypeError):
                vars(raw).pop(name, None)
        return False

    def restore() -> None:
        raw.cursor_factory = factory
        for name in ("commit", "rollback"):
            vars(raw).pop(name, None)

    undo.append(restore)
    return True


def arm(connection: Any, guard: Guard) -> Callable[[], None]:
    """Install ``guard`` on a connected Django connection; returns what takes it off.

    On SQLite and PostgreSQL the DB-API guard sees every statement, Django's included, so the
    sandbox's own connections need no execute wrapper (which would cost every query a few
    Python calls); other backends, and connections opened during the run, get one.
    """
    raw = connection.connection
    undo: list[Callable[[], None]] = []
    below_django = False
    if connection.vendor == "sqlite" and raw is not None:
        raw.set_authorizer(_authorizer(guard))
        undo.append(lambda: raw.set_authorizer(None))
        below_django = True
    elif connection.vendor == "postgresql" and raw is not None:
        if not guard.own:
            with connection.cursor() as cursor:
                cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        below_django = _guard_psycopg(raw, guard, undo)
    guard.implicit_commits = connection.vendor in ("mysql", "oracle")
    if not (below_django and guard.own):
        connection.execute_wrappers.insert(0, guard)
        undo.append(lambda: connection.execute_wrappers.remove(guard))

    def disarm() -> None:
        for step in reversed(undo):
            # A step fails only when the connection is already gone.
            with suppress(ValueError, DatabaseError, sqlite3.Error):
                step()

    return disarm
