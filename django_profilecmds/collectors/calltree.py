"""The call tree, sampled by pyinstrument (async-aware); repeated runs are combined."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyinstrument.session import Session


class CallTreeCollector:
    def __init__(self, interval: float = 0.001, description: str = "") -> None:
        from pyinstrument import Profiler

        # Restarting a Profiler combines its sessions, so one profiler covers every run.
        self.profiler = Profiler(interval=interval, async_mode="enabled")
        self.interval = interval
        self.description = description
        self.root_prefix: str | None = None
        # Under ASGI, sync code (a sync view, sync-only middleware) runs on the thread that
        # called async_to_sync, not on the event loop's: a second profiler samples it there.
        self.worker: Any = None

    def start(self, frame: FrameType | None) -> None:
        if frame is not None:
            code = frame.f_code
            self.root_prefix = f"{code.co_name}\x00{code.co_filename}\x00{code.co_firstlineno}"
        self.profiler.start(caller_frame=frame, target_description=self.description)

    def stop(self) -> None:
        self.profiler.stop()

    def start_worker(self, frame: FrameType | None) -> None:
        """Sample the thread that runs the sync side of an ASGI request (call it there)."""
        if self.worker is None:
            from pyinstrument import Profiler

            self.worker = Profiler(interval=self.interval, async_mode="disabled")
        self.worker.start(caller_frame=frame)

    def stop_worker(self) -> None:
        if self.worker is not None and self.worker.is_running:
            self.worker.stop()

    @property
    def session(self) -> Session | None:
        session = self.timeline_of()
        return None if session is None else without_own_frames(session)

    def timeline_of(self) -> Session | None:
        """The samples in time order as a timeline needs them (speedscope): every sample,
        the harness's included, so the counted runs stay apart where it ran between them."""
        session = self.profiler.last_session
        worker = self.worker.last_session if self.worker is not None else None
        if session is not None and worker is not None:
            session = graft_sync_work(session, worker)
        if session is None or self.root_prefix is None:
            return session
        return reroot(session, self.root_prefix)

    @property
    def raw_session(self) -> Session | None:
        """The samples as pyinstrument took them, the harness's own frames included."""
        return self.profiler.last_session


OWN_DIRECTORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
PROFILERS = ("pyinstrument", "line_profiler", "cProfile", "_lsprof")


def _is_builtin(frame: str) -> bool:
    parts = frame.split("\x00", 2)
    return len(parts) > 1 and parts[1] == "<built-in>"


def without_own_frames(session: Session) -> Session:
    """The call tree of the code that was profiled, with the harness taken out.

    Samples taken while the harness worked (recording a query and finding its origin, starting
    and stopping the profilers) are left out: their time is measured apart and shown beside the
    wall time. The harness's frames between the user's code and what it called (the SQL
    wrapper between Django's cursor and the database, the sandbox's storage and email
    wrappers) are cut out, so a query hangs under Django's cursor as it does without us. The
    driver's frame, where the request starts, stays the root only when more than one entry
    hangs below it (under ASGI, the request and Django's disconnect listener).
    """
    kinds: dict[str, int] = {}  # 0 not ours, 1 ours, 2 ours and only bookkeeping

    def kind(frame: str) -> int:
        known = kinds.get(frame)
        if known is None:
            parts = frame.split("\x00", 2)
            path = parts[1] if len(parts) > 1 else ""
            known = 0
            if path.startswith(OWN_DIRECTORY):
                known = 1
            elif any(f"{os.sep}{name}{os.sep}" in path for name in PROFILERS):
                known = 3  # a profiler's own code: ours when we call it
            kinds[frame] = known
        return known

    records = []
    changed = False
    for stack, time in session.frame_records:
        kept = stack[:1]
        ours = False
        previous = 0
        for frame in stack[1:]:
            this = kind(frame)
            if previous == 1 and (this or _is_builtin(frame)):
                # The harness calling itself, a profiler or a built-in (its clock, its frame
                # walk): bookkeeping.
                ours = True
                break
            previous = this
            if this != 1:
                kept.append(frame)
        # The harness's own frame awaiting (the ASGI receive that waits for a disconnect)
        # leaves a bare [await]: the harness waiting, not the request.
        idle = len(kept) < len(stack) and all(frame.startswith("[") for frame in kept[1:])
        if ours or idle or (previous == 1 and not _after_synthetic(stack)):
            changed = True
            continue
        if len(kept) != len(stack):
            changed = True
        records.append((kept, time))
    # Django's ASGI handler listens for the client's disconnect beside the request: that task
    # waits (on the harness's receive) for as long as the request runs, and does nothing else.
    listening = [r for r in records if len(r[0]) > 1 and r[0][1].startswith(LISTENER)]
    if listening and len(listening) < len(records):
        records = [r for r in records if not (len(r[0]) > 1 and r[0][1].startswith(LISTENER))]
        changed = True
    # The driver's frame is the root: when the request has one entry below it (Django's
    # handler), that entry is the root instead.
    # (A sample in the driver's frame itself is the harness's; one in the event loop running
    # a callback, a built-in such as Context.run, is the loop's scheduling.)
    # (Frames compare by function: their attributes hold the line each sample was on.)
    entries = {stack[1].split("\x01", 1)[0] for stack, _time in records if len(stack) > 1}
    scheduling = {entry for entry in entries if "\x00<built-in>\x00" in entry}
    if len(entries - scheduling) > 1:
        # Under ASGI: the request's task, and a few samples of the loop's own threads and of
        # Django's handler before it started that task; the request's is the tree.
        totals: dict[str, float] = {}
        for stack, time in records:
            if len(stack) > 1:
                entry = stack[1].split("\x01", 1)[0]
                totals[entry] = totals.get(entry, 0.0) + time
        main = max(totals, key=lambda entry: totals[entry])
        if totals[main] >= 0.95 * sum(totals.values()):
            scheduling = entries - {main}
    if len(entries - scheduling) == 1:
        records = [
            (stack[1:], time)
            for stack, time in records
            if len(stack) > 1 and stack[1].split("\x01", 1)[0] not in scheduling
        ]
        return _with_records(session, records, [records[0][0][0]])
    if not changed:
        return session
    return _with_records(session, records, session.start_call_stack)


LISTENER = "listen_for_disconnect\x00"


def _after_synthetic(stack: list[str]) -> bool:
    """Whether the innermost frame is pyinstrument's ``[await]``-like marker."""
    return stack[-1].startswith("[")


def _frame_is(frame: str, function: str, module: str) -> bool:
    return frame.startswith(function + "\x00") and module in frame.split("\x00", 2)[1]


def graft_sync_work(session: Session, worker: Session) -> Session:
    """The event loop's samples with the sync work put back under the awaits that waited for it.

    Over ASGI, Django runs sync code with ``sync_to_async``: the loop's profiler sees an
    ``[await]`` in ``SyncToAsync.__call__`` while the code runs on the calling thread, whose
    profiler sees ``run_until_future`` running one work item after another. Both record in time
    order, so the n-th second of work goes under the await that was waiting at the n-th second
    of awaiting. Time the calling thread spent idle (waiting for the loop) is left out: the
    loop's own samples cover it.
    """
    busy: list[tuple[list[str], float, bool]] = []  # (sync frames, time, shown)
    for stack, time in worker.frame_records:
        runs = [i for i, f in enumerate(stack) if _frame_is(f, "run_until_future", "asgiref")]
        if (
            not runs
            or runs[0] + 1 >= len(stack)
            or not _frame_is(stack[runs[0] + 1], "run", "asgiref")
        ):
            continue  # before the loop started, or waiting for it
        handler = next(
            (i for i, f in enumerate(stack) if _frame_is(f, "thread_handler", "asgiref")), None
        )
        if handler is None:
            continue
        # Inside a nested async_to_sync (sync-only middleware calling the rest of the chain)
        # the thread waits for the loop, whose own samples show what it does meanwhile.
        inner = max(i for i, f in enumerate(stack) if _frame_is(f, "thread_handler", "asgiref"))
        waiting = any(_frame_is(f, "__call__", "asgiref") for f in stack[inner + 1 :]) or not (
            runs[-1] + 1 < len(stack) and _frame_is(stack[runs[-1] + 1], "run", "asgiref")
        )
        busy.append((stack[handler + 1 :], time, not waiting))
    if not busy:
        return session
    records: list[Any] = []
    awaited = worked = 0.0
    queue = iter(busy)
    pending = next(queue, None)
    prefix: list[str] | None = None
    for stack, time in session.frame_records:
        if not (
            len(stack) >= 2
            and stack[-1].startswith(AWAIT)
            and _frame_is(stack[-2], "__call__", "asgiref")
        ):
            records.append((stack, time))
            continue
        prefix, awaited = stack[:-1], awaited + time
        while pending is not None and worked + pending[1] / 2 <= awaited:
            frames, seconds, shown = pending
            worked += seconds
            if shown:
                records.append((prefix + frames, seconds))
            pending = next(queue, None)
    for frames, seconds, shown in [] if pending is None else [pending, *queue]:
        if shown:
            records.append(((prefix or session.frame_records[0][0][:1]) + frames, seconds))
    grafted = _with_records(session, records, session.start_call_stack)
    grafted.sample_count += sum(1 for _frames, _seconds, shown in busy if shown)
    return grafted


AWAIT = "[await]"


def reroot(session: Session, root: str) -> Session:
    """Cut every sample's stack at the driver frame, so the tree starts where the request does.

    pyinstrument trims the stem above ``profiler.start()`` itself, but an async view resumes
    from the event loop: its samples (and the ``[await]`` stacks pyinstrument rebuilds) start
    at the loop and may skip the driver frame. Those are re-hung under the driver frame, after
    the ``async_to_sync`` entry point, so sync and async runs read the same way.
    """

    def identifier(frame: str) -> str:
        return frame.split("\x01", 1)[0]

    root_with_attributes = root + "\x01"
    records = []
    for stack, time in session.frame_records:
        # The driver frame sits near the outer end of every stack: search from there, with
        # plain string tests (this runs for every frame of every sample).
        cut = next(
            (
                i
                for i, frame in enumerate(stack)
                if frame == root or frame.startswith(root_with_attributes)
            ),
            -1,
        )
        if cut >= 0:
            stack = stack[cut:]
        else:
            ids = [identifier(frame) for frame in stack]
            entry = _last_index(ids, lambda i: i.startswith("main_wrap\x00") and "asgiref" in i)
            if entry is None:
                entry = _last_index(ids, lambda i: i.startswith("_run\x00") and "asyncio" in i)
            stack = [root, *stack[(entry or -1) + 1 :]]
        records.append((stack, time))
    return _with_records(session, records, start_call_stack=[root])


# pyinstrument's frame info: identifier, then attributes after \x01; "l" is the line running.
LINE_ATTRIBUTE = re.compile("\x01l[^\x01]*")


class _FunctionsOnly(dict[str, str]):
    """Frame info without the line running, computed once per distinct frame info."""

    def __missing__(self, frame: str) -> str:
        stripped = self[frame] = LINE_ATTRIBUTE.sub("", frame) if "\x01l" in frame else frame
        return stripped


def merge_call_paths(session: Session) -> Session:
    """The same call tree from far fewer samples, for pyinstrument's HTML page.

    pyinstrument builds its tree with work for every frame of every sample (10,000 samples of a
    Django request about 55 frames deep take seconds). Samples with the same call path, by
    function, become one record carrying their summed time, ordered by path so that shared
    prefixes are built once. Every function's time, and so the call tree and its flame view,
    stay the same; what is lost is the order in time (pyinstrument's timeline view then shows
    call paths side by side) and the line each sample was on (lineprof gives lines).
    """
    functions = _FunctionsOnly().__getitem__
    totals: dict[tuple[str, ...], float] = {}
    for stack, time in session.frame_records:
        path = tuple(map(functions, stack))  # C-speed: a dict lookup per frame
        totals[path] = totals.get(path, 0.0) + time
    records = [(list(path), time) for path, time in sorted(totals.items())]
    return _with_records(session, records, session.start_call_stack)


def masked_frames(session: Session, mask: Callable[[str], str]) -> Session:
    """``session`` with every frame name passed through ``mask``: a function or a file named
    from data (``g_<token>``, ``compile(..., "/x?api_key=...")``) shows in the call tree."""
    distinct = {frame for stack, _time in session.frame_records for frame in stack}
    changed = {frame: masked for frame in distinct if (masked := mask(frame)) != frame}
    if not changed:
        return session
    records = [
        ([changed.get(frame, frame) for frame in stack], time)
        for stack, time in session.frame_records
    ]
    start = [changed.get(frame, frame) for frame in session.start_call_stack]
    return _with_records(session, records, start)


def _with_records(session: Session, records: list[Any], start_call_stack: list[str]) -> Session:
    """``session`` with other frame records (and where its call stack starts)."""
    from pyinstrument.session import Session

    return Session(
        frame_records=records,
        start_time=session.start_time,
        duration=session.duration,
        min_interval=session.min_interval,
        max_interval=session.max_interval,
        sample_count=session.sample_count,
        start_call_stack=start_call_stack,
        target_description=session.target_description,
        cpu_time=session.cpu_time,
        sys_path=session.sys_path,
        sys_prefixes=session.sys_prefixes,
    )


def _last_index(items: list[str], predicate: Callable[[str], bool]) -> int | None:
    for index in range(len(items) - 1, -1, -1):
        if predicate(items[index]):
            return index
    return None
