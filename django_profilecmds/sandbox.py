"""Run code so that it changes nothing: every database rolled back, every email captured."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from django.db import DatabaseError, connections, transaction

from django_profilecmds.exceptions import ProfileCmdsError

LOCMEM_EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@contextmanager
def rollback_all_databases(*, commit: bool = False) -> Iterator[None]:
    """Open ``atomic()`` on every configured alias and roll all of them back on exit."""
    with ExitStack() as stack:
        for alias in connections:
            try:
                stack.enter_context(transaction.atomic(using=alias))
            except DatabaseError as exc:
                raise ProfileCmdsError(
                    f"Cannot open a transaction on database {alias!r}: {exc}"
                ) from exc
        try:
            yield
        finally:
            if not commit:
                for alias in connections:
                    transaction.set_rollback(True, using=alias)


@contextmanager
def isolated_run(*, commit: bool = False) -> Iterator[None]:
    """A savepoint per run on every alias, so repeated runs all start from the same data."""
    if commit:
        yield
        return
    with rollback_all_databases():
        yield


@contextmanager
def capture_email() -> Iterator[list[Any]]:
    """Swap in Django's in-memory email backend; yields the outbox (``mail.outbox``)."""
    from django.core import mail
    from django.test.utils import override_settings

    missing = object()
    saved = getattr(mail, "outbox", missing)
    outbox: list[Any] = []
    mail.outbox = outbox
    try:
        with override_settings(EMAIL_BACKEND=LOCMEM_EMAIL_BACKEND):
            yield outbox
    finally:
        if saved is missing:
            del mail.outbox
        else:
            mail.outbox = saved  # type: ignore[assignment]


@contextmanager
def sandbox(*, commit: bool = False, capture: bool = True) -> Iterator[list[Any]]:
    """Everything a profiling run does happens in here. Yields the captured-email outbox."""
    with ExitStack() as stack:
        outbox = stack.enter_context(capture_email()) if capture else []
        stack.enter_context(rollback_all_databases(commit=commit))
        yield outbox
