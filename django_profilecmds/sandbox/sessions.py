"""Sessions the run created outside the database: removed when the run ends.

A database session (``db``, ``cached_db``) is rolled back with the rest of the data; a session
in a cache or a file is not, so each session the run created (the one that logs ``--user`` in,
and any the response set as a cookie) is deleted through its own engine. Signed-cookie
sessions store nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any


def stores_outside_database() -> bool:
    from django.conf import settings

    return settings.SESSION_ENGINE not in (
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.signed_cookies",
    )


def session_keys_set(response: Any) -> list[str]:
    """Session keys the response sets as cookies (new or rotated sessions)."""
    from django.conf import settings

    cookies = getattr(response, "cookies", None)
    if not cookies or settings.SESSION_COOKIE_NAME not in cookies:
        return []
    value = cookies[settings.SESSION_COOKIE_NAME].value
    return [value] if value else []


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
