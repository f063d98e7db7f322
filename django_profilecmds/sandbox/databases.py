"""Databases: every alias inside a transaction that is rolled back, and nothing can end it early.

The sandbox's own connections (one per alias, on the thread that runs the code) are guarded at
two levels, so that a commit from the profiled code is refused whichever way it is issued:

- an execute wrapper refuses transaction-control statements (``COMMIT``, ``END``, ``ROLLBACK``,
  ``BEGIN``, ``RELEASE``/``ROLLBACK TO`` of the sandbox's own savepoints) before they reach the
  database;
- below Django, on the DB-API connection: on SQLite an authorizer makes the engine refuse the
  same statements (so ``connection.connection.commit()``, ``executescript()`` and raw DB-API
  cursors are caught); on PostgreSQL ``commit()`` and the DB-API cursors are guarded.

Any other connection opened while the sandbox is active (on another thread, by
``sync_to_async(thread_sensitive=False)``, by ``connections.create_connection()``) is outside
the rollback, so its writes are refused: by an execute wrapper, and by the database itself
(PostgreSQL's read-only session characteristics; an SQLite authorizer). A thread the run started
is waited for when the run ends; one still running after that keeps that guard for good.

Each refusal raises :class:`WriteRefused` in the profiled code and is recorded with the
statement and the project line that issued it, so the run fails and says why.

One module although it is longer than most here: the statement rules, the per-engine guards
and the sandbox that installs and removes them are what one reads together to judge what can
escape, and none of them is used elsewhere.
"""

from __future__ import annotations

import re
import sqlite3
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, connections, transaction
from django.db.backends.signals import connection_created

from django_profilecmds.exceptions import ProfileCmdsError

THREAD_GRACE = 5.0  # seconds the end of a sandbox waits for the threads its run started


@dataclass(frozen=True)
class Refusal:
    """A statement the sandbox refused, and where the profiled code issued it."""

    alias: str
    statement: str
    reason: str
    origin: str  # "shop/views.py:12 in checkout", or "" with no project frame on the stack
    thread: str

    def describe(self) -> str:
        where = f" at {self.origin}" if self.origin else ""
        return f"{self.statement!r} on {self.alias!r}{where} ({self.thread}): {self.reason}"


class WriteRefused(DatabaseError):
    """Raised in the profiled code in place of a statement that would escape the rollback."""


# String literals and dollar-quoted bodies (kept as an empty literal), comments (dropped) and
# quoted identifiers (kept, without what could pass for quotes or a statement's end): never
# statement keywords. A ``$`` inside an identifier (``a$b``) opens no dollar quote.
_NOISE = re.compile(
    r"'(?:[^']|'')*'|(?<![\w$])\$((?:[A-Za-z_]\w*)?)\$.*?\$\1\$|(--[^\n]*|/\*.*?\*/)"
    r'|("(?:[^"]|"")*"|`[^`]*`)',
    re.S,
)
_FAST = ("SELECT", "INSERT", "UPDATE", "DELETE")
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
    if isinstance(sql, str) and sql[:6].upper() in _FAST and ";" not in sql:
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


class _ProjectOrigin:
    """The innermost project frame of the caller, as ``file:line in function``."""

    def __init__(self) -> None:
        from django_profilecmds.projectcode import ProjectCode

        self.is_project = ProjectCode()

    def __call__(self) -> str:
        import os

        frame: Any = sys._getframe(1)
        while frame is not None:
            code = frame.f_code
            if self.is_project(code.co_filename):
                try:
                    name = os.path.relpath(code.co_filename)
                except ValueError:
                    name = code.co_filename
                if name.startswith(".."):
                    name = code.co_filename
                return f"{name}:{frame.f_lineno} in {code.co_name}"
            frame = frame.f_back
        return ""


class Guard:
    """What one connection may run, and the refusals it made (shared with its sandbox)."""

    def __init__(
        self,
        alias: str,
        refused: list[Refusal],
        origin: Callable[[], str],
        *,
        own: bool,
    ) -> None:
        self.alias = alias
        self.refused = refused
        self.origin = origin
        self.own = own
        self.protected: set[str] = set()  # the sandbox's savepoints on this connection
        self.allow = False  # while the sandbox itself rolls back
        self.implicit_commits = False  # DDL commits on this connection's database

    def reason(self, sql: Any) -> str | None:
        if self.allow:
            return None
        if not self.own:
            return write_reason(sql)
        reason = control_reason(sql, self.protected)
        if reason is None and self.implicit_commits:
            reason = implicit_commit_reason(sql)
        return reason

    def refuse(self, statement: str, reason: str) -> WriteRefused:
        text = " ".join(statement.split())
        text = text if len(text) <= 200 else text[:197] + "..."
        refusal = Refusal(self.alias, text, reason, self.origin(), threading.current_thread().name)
        self.refused.append(refusal)
        return WriteRefused(f"django-profilecmds refused {refusal.describe()}.")

    def check(self, sql: Any) -> None:
        reason = self.reason(sql)
        if reason is not None:
            raise self.refuse(sql if isinstance(sql, str) else str(sql), reason)

    def __call__(
        self, execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: Any
    ) -> Any:
        """Django's execute wrapper."""
        self.check(sql)
        return execute(sql, params, many, context)

    # SQLite's authorizers: the engine asks before it compiles each statement, once per action.
    def authorize_own(self, action: int, arg1: Any, arg2: Any, database: Any, trigger: Any) -> int:
        if action != _TRANSACTION and action != _SAVEPOINT or self.allow:
            return _OK
        if action == _TRANSACTION:
            self.refuse(str(arg1), "it would end the sandbox's transaction (DB-API level)")
            return _DENY
        if arg1 != "BEGIN" and str(arg2).lower() in self.protected:
            self.refuse(f"{arg1} {arg2}", "it would end a savepoint the sandbox owns")
            return _DENY
        return _OK

    def authorize_other(
        self, action: int, arg1: Any, arg2: Any, database: Any, trigger: Any
    ) -> int:
        if action in _SQLITE_WRITES or (action == _PRAGMA and arg2 is not None):
            what = _SQLITE_NAMES.get(action, "write")
            self.refuse(
                f"{what} {arg1 or ''}".strip(),
                "it would write through a connection outside the sandbox's transaction",
            )
            return _DENY
        return _OK


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


def _guarded_cursor_class(base: type, guard: Guard) -> type:
    """A subclass of a psycopg cursor class whose statements the guard checks first."""

    class GuardedCursor(base):  # type: ignore[misc]
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            # The common case on the sandbox's own connection: one statement, not control.
            fast = guard.own and type(query) is str and query.startswith(_FAST)
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
        raw.set_authorizer(guard.authorize_own if guard.own else guard.authorize_other)
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


# Sandboxes now active (innermost last), and the threads runs started, with the sandbox of
# their run: a thread that outlives its run stays guarded, its refusals reported by that run.
_ACTIVE: list[DatabaseSandbox] = []
_QUARANTINE: weakref.WeakKeyDictionary[threading.Thread, DatabaseSandbox] = (
    weakref.WeakKeyDictionary()
)


def _guard_new_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created``: a connection opened during a run is outside its rollback."""
    sandbox = _ACTIVE[-1] if _ACTIVE else _QUARANTINE.get(threading.current_thread())
    if sandbox is not None:
        sandbox.guard_new(connection)


connection_created.connect(_guard_new_connection, dispatch_uid="django_profilecmds.sandbox")


class DatabaseSandbox:
    """Every alias in a transaction that is rolled back, guarded as the module says.

    ``per_run_transactions``: each run gets whole transactions of its own (for SQLite shared
    between processes, which allows one writer at a time) instead of a savepoint of one long
    transaction. ``commit``: the runs' changes are kept, nothing is guarded.
    """

    def __init__(self, *, commit: bool = False, per_run_transactions: bool = False) -> None:
        self.commit = commit
        self.per_run = per_run_transactions
        self.refused: list[Refusal] = []
        self.warnings: list[str] = []
        self.origin = _ProjectOrigin()
        self._own: dict[int, Guard] = {}
        self._stack = ExitStack()
        self._threads: set[threading.Thread] = set()

    def owns(self, connection: Any) -> bool:
        return id(connection) in self._own

    def guard_new(self, connection: Any) -> None:
        """A connection opened while the sandbox is active is outside its rollback."""
        if not self.commit and not self.owns(connection):
            arm(connection, Guard(connection.alias, self.refused, self.origin, own=False))

    def __enter__(self) -> DatabaseSandbox:
        self._threads = set(threading.enumerate())
        # This thread's connections are the sandbox's own from the start, also between the
        # transactions of per-run mode (a --user looked up before the first run).
        for alias in connections:
            self._own[id(connections[alias])] = Guard(alias, self.refused, self.origin, own=True)
        _ACTIVE.append(self)
        try:
            if not self.per_run:
                self._stack.enter_context(self._transactions())
        except BaseException:
            _ACTIVE.remove(self)
            self._own.clear()
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        started = [
            thread
            for thread in threading.enumerate()
            if thread not in self._threads and thread is not threading.current_thread()
        ]
        for thread in started:  # before the sandbox stops being active: no gap
            _QUARANTINE[thread] = self
        try:
            # Left by an exception, atomic() rolls back: with --commit too, nothing of an
            # interrupted command is kept.
            self._stack.__exit__(*exc_info)
        finally:
            _ACTIVE.remove(self)
            self._own.clear()
            self._wait_for_threads(started)

    @contextmanager
    def run(self) -> Iterator[None]:
        """One run: its own savepoint on every alias (or its own transactions)."""
        if self.commit:
            yield
            return
        if self.per_run:
            with self._transactions():
                yield
            return
        with ExitStack() as stack:
            for alias in connections:
                self._enter_atomic(stack, alias)
            try:
                yield
            finally:
                for guard in self._own.values():
                    guard.allow = True
                try:
                    for alias in connections:
                        transaction.set_rollback(True, using=alias)
                    stack.close()
                finally:
                    for guard in self._own.values():
                        guard.allow = False

    @contextmanager
    def _transactions(self) -> Iterator[None]:
        """``atomic()`` on every alias, guarded, rolled back on exit (unless ``commit``)."""
        with ExitStack() as stack:
            disarms: list[Callable[[], None]] = []
            for alias in connections:
                connection = connections[alias]
                guard = self._own[id(connection)]
                guard.protected.clear()
                try:
                    if self.per_run and connection.vendor == "sqlite":
                        self._immediate(stack, connection)
                    self._enter_atomic(stack, alias)
                except DatabaseError as exc:
                    raise ProfileCmdsError(
                        f"Cannot open a transaction on database {alias!r}: {exc}"
                    ) from exc
                if not self.commit:
                    disarms.append(arm(connection, guard))
            try:
                yield
            finally:
                for disarm in disarms:
                    disarm()
                if not self.commit:
                    for alias in connections:
                        transaction.set_rollback(True, using=alias)

    @staticmethod
    def _immediate(stack: ExitStack, connection: Any) -> None:
        """``BEGIN IMMEDIATE``: processes sharing an SQLite file take turns at the write lock
        instead of failing at once when two deferred transactions both start to write."""
        connection.ensure_connection()
        saved = connection.transaction_mode
        connection.transaction_mode = "IMMEDIATE"
        stack.callback(setattr, connection, "transaction_mode", saved)

    def _enter_atomic(self, stack: ExitStack, alias: str) -> None:
        atomic = transaction.atomic(using=alias)
        # As under TestCase: a durable atomic block inside the sandbox runs as a savepoint.
        atomic._from_testcase = True  # type: ignore[attr-defined]
        stack.enter_context(atomic)
        connection = connections[alias]
        guard = self._own.get(id(connection))
        if guard is not None and connection.savepoint_ids and connection.savepoint_ids[-1]:
            guard.protected.add(connection.savepoint_ids[-1].lower())

    def _wait_for_threads(self, started: list[threading.Thread]) -> None:
        """Let the threads the run started finish while their connections are guarded."""
        # Executor threads (asyncio's, asgiref's) idle between tasks, and daemon threads (an
        # error reporter's) live as long as the process: neither is waited for. Their
        # connections stay guarded.
        workers = [
            thread
            for thread in started
            if thread.daemon or thread.name.startswith(("asyncio_", "ThreadPoolExecutor"))
        ]
        deadline = time.monotonic() + THREAD_GRACE
        for thread in started:
            if thread not in workers:
                thread.join(max(0.0, deadline - time.monotonic()))
        alive = [thread for thread in started if thread.is_alive()]
        lingering = [thread for thread in alive if thread not in workers]
        if lingering and not self.commit:
            names = ", ".join(repr(thread.name) for thread in lingering)
            self.warnings.append(
                f"The run left {len(lingering)} thread(s) running ({names}); database "
                "connections they open are refused writes for the rest of this process."
            )


def _database_of(connection: Any) -> tuple[str, str, str, str]:
    """Which database a connection is to: its engine, name, host and port."""
    settings = connection.settings_dict
    name, host, port = (str(settings.get(key) or "") for key in ("NAME", "HOST", "PORT"))
    return connection.vendor, name, host, port


class TestRunnerSandbox(DatabaseSandbox):
    """For Django's test runner (``profile_command test``), which makes databases of its own.

    The runner closes each connection to point it at a test database that it creates, fills and
    destroys, so no transaction can be held across the run. Instead the project's databases are
    read-only: any connection to one of them opened during the run, this thread's included, is
    refused writes as one on another thread is. The test databases are the runner's.
    """

    def __init__(self, *, commit: bool = False) -> None:
        super().__init__(commit=commit)
        self._project: set[tuple[str, str, str, str]] = set()
        self._guarded_here: list[tuple[Any, Callable[[], None]]] = []
        self._thread = threading.current_thread()

    def __enter__(self) -> TestRunnerSandbox:
        busy = [alias for alias in connections if connections[alias].in_atomic_block]
        if busy:
            raise ProfileCmdsError(
                "Django's test runner cannot run inside a transaction (on "
                f"{', '.join(map(repr, busy))}): it opens and closes the connections itself."
            )
        self._threads = set(threading.enumerate())
        self._thread = threading.current_thread()
        for alias in connections:
            connection = connections[alias]
            self._project.add(_database_of(connection))
            connection.close()  # opened again, and guarded, if the run uses it
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            super().__exit__(*exc_info)
        finally:
            # This thread's connections outlive the run: take the guards off, and close them
            # (a PostgreSQL session stays read-only).
            for connection, disarm in self._guarded_here:
                disarm()
                if not connection.in_atomic_block:
                    connection.close()
            self._guarded_here.clear()

    def guard_new(self, connection: Any) -> None:
        if self.commit or _database_of(connection) not in self._project:
            return  # a test database, or the server's maintenance one the runner creates it from
        disarm = arm(connection, Guard(connection.alias, self.refused, self.origin, own=False))
        if threading.current_thread() is self._thread:
            self._guarded_here.append((connection, disarm))

    @contextmanager
    def run(self) -> Iterator[None]:
        yield
