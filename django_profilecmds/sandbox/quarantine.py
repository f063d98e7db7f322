"""Connections opened during a run, and threads the run started: kept outside the rollback.

Any connection opened while a sandbox is active (on another thread, by
``sync_to_async(thread_sensitive=False)``, by ``connections.create_connection()``) is outside the
rollback, so the sandbox guards it against writes as soon as Django's ``connection_created``
signal says it exists. A thread the run started is waited for when the run ends; one still
running after that stays in quarantine: its new connections are guarded for good, their
refusals reported by that run.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from django.db.backends.signals import connection_created

if TYPE_CHECKING:
    from django_profilecmds.sandbox.databases import DatabaseSandbox

THREAD_GRACE = 5.0  # seconds the end of a sandbox waits for the threads its run started

# Sandboxes now active (innermost last), and the threads runs started, with the sandbox of
# their run: a thread that outlives its run stays guarded, its refusals reported by that run.
ACTIVE: list[DatabaseSandbox] = []
QUARANTINE: weakref.WeakKeyDictionary[threading.Thread, DatabaseSandbox] = (
    weakref.WeakKeyDictionary()
)


def _guard_new_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created``: a connection opened during a run is outside its rollback."""
    sandbox = ACTIVE[-1] if ACTIVE else QUARANTINE.get(threading.current_thread())
    if sandbox is not None:
        sandbox.guard_new(connection)


connection_created.connect(_guard_new_connection, dispatch_uid="django_profilecmds.sandbox")


def wait_for_threads(started: list[threading.Thread]) -> list[threading.Thread]:
    """Let the threads a run started finish while their connections are guarded; returns
    those still running that were waited for."""
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
    return [thread for thread in alive if thread not in workers]
