"""Sessions the run created outside the database: removed when the run ends.

A database session (``db``) is rolled back with the rest of the data; a session in a cache or a
file is not, so each session key made while the sandbox is active (the one that logs ``--user``
in, a login view's, any other) is recorded, and that session is deleted through its own engine
at the end. Sessions that existed before are never touched. Signed-cookie sessions store
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any


@contextmanager
def recording_new_sessions() -> Iterator[set[str]]:
    """Yields the set of session keys made while it is entered (by every engine)."""
    from django.contrib.sessions.backends.base import SessionBase

    keys: set[str] = set()
    original = SessionBase.__dict__["_get_new_session_key"]

    def _get_new_session_key(self: Any) -> str:
        key = str(original(self))
        keys.add(key)
        return key

    SessionBase._get_new_session_key = _get_new_session_key  # type: ignore[attr-defined]
    try:
        yield keys
    finally:
        SessionBase._get_new_session_key = original  # type: ignore[attr-defined]


def stores_outside_database() -> bool:
    from django.conf import settings

    return settings.SESSION_ENGINE not in (
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.signed_cookies",
    )


def discard_sessions(keys: set[str]) -> int:
    """Delete the sessions with these keys from the session engine; returns how many."""
    from django.conf import settings

    if not keys or not stores_outside_database():
        return 0
    engine: Any = import_module(settings.SESSION_ENGINE)
    removed = 0
    for key in keys:
        store = engine.SessionStore(key)
        if store.exists(key):
            store.delete(key)
            removed += 1
    return removed
