"""The coroutines that queries run for, found on the event loop of an async run.

A query that async code runs through ``sync_to_async`` executes on another thread, where the
view's coroutine frames are not on the stack: they are found on the loop's suspended tasks
instead. The async drivers mark the loop of their run with :func:`mark_async_loop`.
"""

from __future__ import annotations

import asyncio
import contextvars
from types import FrameType

from asgiref.sync import SyncToAsync

# The event loop of the async run in progress, if any.
ASYNC_LOOP: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "profilecmds_loop", default=None
)
# What a task waiting on a sync_to_async call awaits.
SYNC_TO_ASYNC_CODE = SyncToAsync.__call__.__code__


def mark_async_loop() -> None:
    """Let the SQL collector find the coroutines that queries run for (see ASYNC_LOOP)."""
    ASYNC_LOOP.set(asyncio.get_running_loop())


def suspended_chains(loop: asyncio.AbstractEventLoop) -> list[list[FrameType]]:
    """The frames of each unfinished task of ``loop`` (see :func:`await_chain`), those of tasks
    waiting on a sync_to_async call first; none if the tasks changed while being read (they
    run on the loop's thread, not this one)."""
    try:
        chains = [await_chain(t.get_coro()) for t in asyncio.all_tasks(loop) if not t.done()]
    except RuntimeError:
        return []
    chains.sort(key=lambda chain: not chain or chain[-1].f_code is not SYNC_TO_ASYNC_CODE)
    return chains


def await_chain(coroutine: object) -> list[FrameType]:
    """The frames of a suspended coroutine and of everything it awaits, outermost first."""
    frames = []
    while coroutine is not None:
        frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "gi_frame", None)
        if frame is None:
            break
        frames.append(frame)
        coroutine = getattr(coroutine, "cr_await", None) or getattr(coroutine, "gi_yieldfrom", None)
    return frames
