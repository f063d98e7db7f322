"""Replay in forked worker processes, each replaying its share, and merge their aggregates.

Each worker reads the whole source, makes the same sampling and limit decisions (same seed,
same order) and replays every ``workers``-th eligible request, so the merged aggregate counts
exactly what one process would.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from django_profilecmds.analysis.replay import ReplayStats
from django_profilecmds.exceptions import ProfileCmdsError
from django_profilecmds.replay.options import Progress, ReplayOptions, Source
from django_profilecmds.replay.selection import PROGRESS_EVERY

PARENT_POLL = 0.5  # seconds between a worker's checks that the replay's process is alive
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class ReplayOne(Protocol):
    """The replay of one process (``engine.replay``), which each worker runs on its share."""

    def __call__(
        self,
        source: Source,
        options: ReplayOptions,
        progress: Progress | None = None,
        *,
        worker: int = 0,
        short_transactions: bool = False,
    ) -> ReplayStats: ...


def replay_in_workers(
    replay_one: ReplayOne,
    open_source: Callable[[], Source],
    options: ReplayOptions,
    progress: Progress | None = None,
) -> ReplayStats:
    """Replay in ``options.workers`` forked processes, each calling ``replay_one`` for its
    share, and merge their aggregates. The options are checked before: each worker would
    report the same error."""
    import multiprocessing

    from django.db import connections

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        raise ProfileCmdsError(
            "--workers needs processes started by fork (Linux, macOS); run without it."
        ) from None
    for alias in connections:
        settings_dict = connections[alias].settings_dict
        if connections[alias].vendor == "sqlite" and _in_memory(settings_dict["NAME"]):
            raise ProfileCmdsError(
                f"--workers cannot share the in-memory SQLite database {alias!r} between "
                "processes; use a database file or a server."
            )
    short = any(connections[alias].vendor == "sqlite" for alias in connections)
    # Children must open their own connections, never share the parent's sockets or files.
    connections.close_all()
    read = context.Value("q", 0, lock=False)
    results = context.SimpleQueue()
    parent = os.getpid()
    processes = [
        context.Process(
            target=_worker,
            args=(replay_one, open_source, options, index, short, read, results, parent),
            daemon=True,
        )
        for index in range(options.workers)
    ]
    for process in processes:
        process.start()
    merged: ReplayStats | None = None
    failure = None
    try:
        for _ in processes:
            while results.empty():
                if progress is not None:
                    progress(read.value)
                if not any(process.is_alive() for process in processes) and results.empty():
                    raise ProfileCmdsError("A replay worker died without reporting.")
                time.sleep(PROGRESS_EVERY)
            kind, payload = results.get()
            if kind == "error":
                failure = failure or payload
                continue
            if merged is None:
                merged = payload
            else:
                merged.merge(payload)
    except BaseException:
        # Ctrl-C or a failure: stop the workers now rather than wait for their requests. A
        # worker ended mid-transaction commits nothing (the database rolls its work back).
        for process in processes:
            process.terminate()
        raise
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
    if failure is not None:
        raise ProfileCmdsError(failure)
    assert merged is not None
    if progress is not None:
        progress(read.value)
    return merged


def _worker(
    replay_one: ReplayOne,
    open_source: Callable[[], Source],
    options: ReplayOptions,
    index: int,
    short: bool,
    read: Any,
    results: Any,
    parent: int,
) -> None:
    _end_with(parent)
    try:

        def report(count: int) -> None:
            if index == 0:
                read.value = count

        stats = replay_one(open_source(), options, report, worker=index, short_transactions=short)
        results.put(("stats", stats))
    except ProfileCmdsError as exc:
        results.put(("error", str(exc)))
    except BaseException:
        results.put(("error", f"A replay worker failed:\n{traceback.format_exc()}"))
    finally:
        from django.db import connections

        connections.close_all()


def _end_with(parent: int) -> None:
    """End this worker as soon as the replay's process ``parent`` ends, even killed by SIGKILL:
    a worker left behind would replay on for minutes, holding connections and database files.
    Nothing of a worker needs cleaning up: its transactions roll back as its connections drop.
    """
    import threading

    if sys.platform.startswith("linux"):
        # SIGKILL when the thread that forked this worker ends; that thread waits in
        # replay_in_workers until every worker has reported, so it ends with the process.
        import contextlib
        import ctypes

        with contextlib.suppress(OSError, AttributeError):  # no prctl: the thread still watches
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # Elsewhere, and if the parent ended before the call above: an orphan gets a new parent.
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    os._exit(1)


def _in_memory(name: Any) -> bool:
    text = str(name)
    return text == ":memory:" or "mode=memory" in text or text == ""
