"""The run loop every command shares: one sandbox, the query and cache collectors, identities,
and ``run_once()`` for each run.

``runner.run`` (profile_view, lineprof, profile_call, profile_command and the Python API) and
``profile_replay`` (in one process or in each worker) all run their code through a
:class:`Harness`, so each guarantee of the sandbox holds for all of them alike.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from django_profilecmds.collectors.cache import CacheCollector
from django_profilecmds.collectors.sql import QueryCollector
from django_profilecmds.drivers import HARNESS_FILES, Outcome
from django_profilecmds.exceptions import ProfileCmdsError
from django_profilecmds.sandbox import Sandbox, SandboxOptions
from django_profilecmds.users import Identity


class Harness:
    def __init__(self, options: SandboxOptions, queries: QueryCollector | None = None) -> None:
        self.options = options
        self.sandbox = Sandbox(options)
        self.queries = queries or QueryCollector(HARNESS_FILES)
        self.caches = CacheCollector()
        self._identities: dict[str, Identity] = {}
        self._stack = ExitStack()

    def __enter__(self) -> Harness:
        try:
            self._stack.enter_context(self.sandbox)
            self._stack.enter_context(self.queries.installed())
            self._stack.enter_context(self.caches.installed())
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        # The exception (Ctrl-C, an error) goes through, so an unfinished run commits
        # nothing, even with --commit.
        self._stack.__exit__(*exc_info)

    @property
    def outbox(self) -> list[Any]:
        return self.sandbox.outbox

    def identity(self, user: str) -> Identity:
        """``user`` logged in with a real session, once per sandbox (once per run when every
        run has transactions of its own, which take the session row with them)."""
        from django.db import DatabaseError

        from django_profilecmds.users import log_in, resolve_user

        identity = self._identities.get(user)
        if identity is None:
            try:
                identity = log_in(resolve_user(user))
            except DatabaseError as exc:
                raise ProfileCmdsError(
                    f"The database failed while looking up --user {user!r}: {exc}. "
                    "Is it migrated (manage.py migrate)?"
                ) from exc
            if not self.options.per_run_transactions:
                self._identities[user] = identity
        return identity

    def run_once(
        self, execute: Callable[[Identity | None], Outcome], user: str | None = None
    ) -> Outcome:
        """One run of ``execute(identity)`` in a savepoint of its own, then its on_commit
        callbacks."""
        identity = None
        if user is not None and not self.options.per_run_transactions:
            identity = self.identity(user)
        with self.sandbox.run():
            if user is not None and identity is None:
                identity = self.identity(user)
            return execute(identity)
