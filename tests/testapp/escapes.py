"""Code written to escape the sandbox: each function tries to leave a row behind.

Every function returns normally whatever happened (a real view might swallow the error too),
so that only the sandbox's own report can tell that a write was refused. Each writes an
``Author`` named ``ESCAPED`` (``KEPT`` for the writes the sandbox must let run and roll back).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.db import DatabaseError, connection, connections, transaction

from tests.testapp.models import Author

ESCAPED = "ESCAPED"
KEPT = "KEPT"


def _swallow(function: Callable[[], Any]) -> str:
    try:
        function()
    except DatabaseError as exc:
        return f"refused: {exc}"
    return "ran"


def raw_commit() -> str:
    """An ORM write, then COMMIT through Django's cursor."""

    def attack() -> None:
        Author.objects.create(name=ESCAPED)
        with connection.cursor() as cursor:
            cursor.execute("COMMIT")

    return _swallow(attack)


def dbapi_commit() -> str:
    """An ORM write, then ``commit()`` on the DB-API connection below Django."""

    def attack() -> None:
        Author.objects.create(name=ESCAPED)
        connection.ensure_connection()
        connection.connection.commit()

    return _swallow(attack)


def _write_in_thread(delay: float = 0.0) -> threading.Thread:
    def write() -> None:
        time.sleep(delay)
        try:
            _swallow(lambda: Author.objects.create(name=ESCAPED))
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=write, name="escape-writer")
    thread.start()
    return thread


def thread_joined() -> str:
    """An ORM write from a thread of its own (a new connection, in autocommit), joined."""
    _write_in_thread().join()
    return "ran"


def thread_late() -> str:
    """The same, still running when the response is sent."""
    _write_in_thread(delay=0.3)
    return "ran"


def thread_insensitive() -> str:
    """An ORM write run by ``sync_to_async(thread_sensitive=False)`` on an executor thread."""

    def create() -> str:
        return _swallow(lambda: Author.objects.create(name=ESCAPED))

    return str(async_to_sync(sync_to_async(create, thread_sensitive=False))())


def new_connection() -> str:
    """A write through a connection of its own: ``connections.create_connection()``."""
    other = connections.create_connection("default")
    try:

        def attack() -> None:
            with other.cursor() as cursor:
                cursor.execute("INSERT INTO testapp_author (name) VALUES (%s)", [ESCAPED])

        return _swallow(attack)
    finally:
        other.close()


def durable() -> str:
    """``atomic(durable=True)``: runs as under TestCase, and is rolled back."""
    with transaction.atomic(durable=True):
        Author.objects.create(name=KEPT)
    return "ran"


def raw_insert() -> str:
    """A raw INSERT on Django's connection: inside the transaction, rolled back."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO testapp_author (name) VALUES (%s)", [KEPT])
    return "ran"


# name in URLs -> (function, refused: does the sandbox refuse it, or run it and roll back)
ESCAPES: dict[str, tuple[Callable[[], str], bool]] = {
    "raw-commit": (raw_commit, True),
    "dbapi-commit": (dbapi_commit, True),
    "thread-joined": (thread_joined, True),
    "thread-late": (thread_late, True),
    "thread-insensitive": (thread_insensitive, True),
    "new-connection": (new_connection, True),
    "durable": (durable, False),
    "raw-insert": (raw_insert, False),
}
