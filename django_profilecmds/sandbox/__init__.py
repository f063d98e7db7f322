"""Run code so that it changes nothing: the one place for every "changes nothing" guarantee.

- databases (``databases.py``): every alias in a transaction that is rolled back; statements and
  connections that would escape it are refused (under Django's test runner, which makes test
  databases of its own, the project's databases are read-only instead);
- email (``outbox.py``): every message kept in memory;
- files (``storages.py``): writes through any storage go to a throwaway overlay;
- caches (``caches.py``): optionally replaced by private in-memory caches; otherwise their
  writes are counted by the cache collector and reported;
- sessions (``sessions.py``): sessions made during the run in a cache or a file are deleted.

``Sandbox`` is entered once around all the runs of a command; ``Sandbox.run()`` around each run
gives it a savepoint of its own, so every run starts from the same data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connections

from django_profilecmds.sandbox.databases import DatabaseSandbox, TestRunnerSandbox
from django_profilecmds.sandbox.guards import Refusal, WriteRefused
from django_profilecmds.sandbox.storages import Overlays, StorageReport

__all__ = ["Refusal", "Sandbox", "SandboxOptions", "WriteRefused", "keep_connections_open"]


@dataclass(frozen=True)
class SandboxOptions:
    commit: bool = False  # keep database changes and files
    capture_email: bool = True
    isolate_cache: bool = True
    # Whole transactions per run instead of savepoints (SQLite shared between processes).
    per_run_transactions: bool = False
    # Django's test runner: it makes test databases of its own, and the project's are kept
    # read-only instead of inside a transaction (see TestRunnerSandbox).
    test_databases: bool = False


@dataclass
class SandboxReport:
    """What the runs tried to change, and what became of it."""

    refused: list[Refusal] = field(default_factory=list)
    files: list[StorageReport] = field(default_factory=list)
    sessions_removed: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def files_written(self) -> list[str]:
        # Once each: a storage made by each run (warm-up and counted) has a report of its own.
        named = {(report.alias, name): name for report in self.files for name in report.written}
        return list(named.values())

    @property
    def files_deleted(self) -> list[str]:
        named = {(report.alias, name): name for report in self.files for name in report.deleted}
        return list(named.values())


@contextmanager
def keep_connections_open() -> Iterator[None]:
    """Stop request signals from touching database connections, as Django's test client does.

    ``close_old_connections`` would close a connection that is inside our atomic block (its
    autocommit differs from the settings), which would lose the rollback; ``reset_queries``
    would empty the query log a caller may be reading (``CaptureQueriesContext``).
    """
    from django.core import signals
    from django.db import close_old_connections, reset_queries

    detached = [
        (signal, receiver)
        for signal in (signals.request_started, signals.request_finished)
        for receiver in (close_old_connections, reset_queries)
        if signal.disconnect(receiver)
    ]
    try:
        yield
    finally:
        for signal, receiver in detached:
            signal.connect(receiver)


class Sandbox:
    """Everything a profiling run does happens in here (``with Sandbox(options) as box``)."""

    def __init__(self, options: SandboxOptions | None = None) -> None:
        self.options = options or SandboxOptions()
        self.outbox: list[Any] = []
        self.report = SandboxReport()
        self.databases = (
            TestRunnerSandbox(commit=self.options.commit)
            if self.options.test_databases
            else DatabaseSandbox(
                commit=self.options.commit, per_run_transactions=self.options.per_run_transactions
            )
        )
        self._stack = ExitStack()
        self._session_keys: set[str] = set()
        self._files: Overlays | None = None

    def __enter__(self) -> Sandbox:
        options = self.options
        stack = self._stack
        try:
            stack.enter_context(keep_connections_open())
            if options.capture_email:
                from django_profilecmds.sandbox.outbox import capture_email

                self.outbox = stack.enter_context(capture_email())
            if options.isolate_cache:
                from django_profilecmds.sandbox.caches import isolate_caches

                stack.enter_context(isolate_caches())
            from django_profilecmds.sandbox.storages import overlay_storages

            self._files = stack.enter_context(overlay_storages(commit=options.commit))
            self.report.files = self._files
            if not options.commit:
                from django_profilecmds.sandbox.sessions import recording_new_sessions

                stack.callback(self._discard_sessions)
                self._session_keys = stack.enter_context(recording_new_sessions())
            stack.enter_context(self.databases)
        except BaseException:
            stack.close()
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self._stack.__exit__(*exc_info)  # left by an exception: the databases roll back
        finally:
            self.report.refused = list(self.databases.refused)
            self.report.warnings = list(self.databases.warnings)

    @contextmanager
    def run(self) -> Iterator[None]:
        """One run: a savepoint on every alias, on_commit callbacks run as a commit would."""
        try:
            with self.databases.run():
                before = {alias: len(connections[alias].run_on_commit) for alias in connections}
                yield
                if not self.options.commit:
                    run_on_commit_callbacks(before)
        finally:
            if self._files is not None:
                self._files.reset()  # as the savepoint does for the database

    def _discard_sessions(self) -> None:
        from django_profilecmds.sandbox.sessions import discard_sessions

        self.report.sessions_removed = discard_sessions(self._session_keys)

    @property
    def refused(self) -> list[Refusal]:
        """Statements refused so far (during the runs, before the sandbox is left)."""
        return self.databases.refused


def run_on_commit_callbacks(before: dict[str, int]) -> None:
    """Run the on_commit callbacks a run registered, as the commit would have, inside the
    sandbox (their writes are rolled back too, their emails captured)."""
    for alias, start in before.items():
        connection = connections[alias]
        pending = connection.run_on_commit[start:]
        del connection.run_on_commit[start:]
        for entry in pending:
            function, robust = entry[1], entry[2] if len(entry) > 2 else False
            try:
                function()
            except Exception:
                if not robust:
                    raise
