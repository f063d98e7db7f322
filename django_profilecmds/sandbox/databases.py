"""Databases: every alias inside a transaction that is rolled back, and nothing can end it early.

The sandbox's own connections (one per alias, on the thread that runs the code) are guarded at
two levels, so that a commit from the profiled code is refused whichever way it is issued:

- an execute wrapper refuses transaction-control statements (``COMMIT``, ``END``, ``ROLLBACK``,
  ``BEGIN``, ``RELEASE``/``ROLLBACK TO`` of the sandbox's own savepoints) before they reach the
  database (the rules: :mod:`.statements`; the guard: :mod:`.guards`);
- below Django, on the DB-API connection: on SQLite an authorizer makes the engine refuse the
  same statements (so ``connection.connection.commit()``, ``executescript()`` and raw DB-API
  cursors are caught); on PostgreSQL ``commit()`` and the DB-API cursors are guarded
  (:mod:`.dbapiguards`).

Any other connection opened while the sandbox is active (on another thread, by
``sync_to_async(thread_sensitive=False)``, by ``connections.create_connection()``) is outside
the rollback, so its writes are refused: by an execute wrapper, and by the database itself
(PostgreSQL's read-only session characteristics; an SQLite authorizer). A thread the run started
is waited for when the run ends; one still running after that keeps that guard for good
(:mod:`.quarantine`).

Each refusal raises :class:`WriteRefused` in the profiled code and is recorded with the
statement and the project line that issued it, so the run fails and says why.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from django.db import DatabaseError, connections, transaction

from django_profilecmds.exceptions import ProfileCmdsError
from django_profilecmds.sandbox.dbapiguards import arm
from django_profilecmds.sandbox.guards import Guard, Refusal, WriteRefused
from django_profilecmds.sandbox.quarantine import ACTIVE, QUARANTINE, wait_for_threads
from django_profilecmds.sandbox.statements import (
    control_reason,
    implicit_commit_reason,
    write_reason,
)

__all__ = [
    "DatabaseSandbox",
    "Refusal",
    "TestRunnerSandbox",
    "WriteRefused",
    "control_reason",
    "implicit_commit_reason",
    "write_reason",
]


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
        ACTIVE.append(self)
        try:
            if not self.per_run:
                self._stack.enter_context(self._transactions())
        except BaseException:
            ACTIVE.remove(self)
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
            QUARANTINE[thread] = self
        try:
            # Left by an exception, atomic() rolls back: with --commit too, nothing of an
            # interrupted command is kept.
            self._stack.__exit__(*exc_info)
        finally:
            ACTIVE.remove(self)
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
        connection = connections[alias]
        guard = self._own.get(id(connection))
        savepoints: list[str] = []
        if guard is not None:
            # Unprotected once the block has ended (callbacks run last in, first out): its
            # savepoint is gone, and a long replay must not keep one name per request.
            stack.callback(guard.protected.difference_update, savepoints)
        atomic = transaction.atomic(using=alias)
        # As under TestCase: a durable atomic block inside the sandbox runs as a savepoint.
        atomic._from_testcase = True  # type: ignore[attr-defined]
        stack.enter_context(atomic)
        if guard is not None and connection.savepoint_ids and connection.savepoint_ids[-1]:
            savepoints.append(connection.savepoint_ids[-1].lower())
            guard.protected.update(savepoints)

    def _wait_for_threads(self, started: list[threading.Thread]) -> None:
        """Let the threads the run started finish while their connections are guarded."""
        lingering = wait_for_threads(started)
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
        ACTIVE.append(self)
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
