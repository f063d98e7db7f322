"""The call tree, sampled by pyinstrument (async-aware); repeated runs are combined."""

from __future__ import annotations

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
        self.description = description
        self.root_prefix: str | None = None

    def start(self, frame: FrameType | None) -> None:
        if frame is not None:
            code = frame.f_code
            self.root_prefix = f"{code.co_name}\x00{code.co_filename}\x00{code.co_firstlineno}"
        self.profiler.start(caller_frame=frame, target_description=self.description)

    def stop(self) -> None:
        self.profiler.stop()

    @property
    def session(self) -> Session | None:
        session = self.profiler.last_session
        if session is None or self.root_prefix is None:
            return session
        return reroot(session, self.root_prefix)


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
