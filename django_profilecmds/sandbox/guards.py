"""What one guarded connection may run, and the refusals it makes.

A :class:`Guard` applies the rules of :mod:`.statements` to one connection: as Django's execute
wrapper, and for the DB-API guards of :mod:`.dbapiguards`. Each refusal raises
:class:`WriteRefused` in the profiled code and is recorded as a :class:`Refusal`, with the
statement and the project line that issued it, so the run fails and says why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError

from django_profilecmds.sandbox.statements import (
    control_reason,
    implicit_commit_reason,
    write_reason,
)


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
