"""Every SQL query on every database alias, through ``connection.execute_wrapper``.

The wrapper is installed once for the whole profiling session; ``start``/``stop`` only flip a
flag, so warm-up runs and the time between runs cost one attribute check per query.

For each recorded query the origin is found by walking frames (never by formatting a
traceback): the innermost frames in project code, and, when a template is rendering, the
template line being rendered and the ``{% for %}`` line around it; under lineprof, also the
line each line-profiled function is on. The walk ends at the first frame that an earlier
query's walk met, reusing what lay beyond it, so the queries of a loop cost a walk from the
query out to the loop, not to the top of the stack.
"""

from __future__ import annotations

import inspect
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from django.db import connections

from django_profilecmds.collectors.asynctasks import ASYNC_LOOP, suspended_chains
from django_profilecmds.projectcode import ProjectCode

MAX_STACK = 3  # the origin and two callers: what the report shows
# Inside the sandbox's transaction a view's atomic() becomes savepoints, where in production
# it is BEGIN/COMMIT, which never reach a cursor: they are not the view's queries.
SANDBOX_STATEMENTS = ("SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT ")
# What a frame's file is, for the origin walk (flags). A file with SPECIAL code holds a template
# node's render_annotated or sync_to_async's thread handler; a PROFILED one, line-profiled code.
LIBRARY, PROJECT, STOP, SPECIAL, PROFILED = 0, 1, 2, 4, 8
# What the walk learns from one frame (the first field of an item tuple).
FRAME, LINE, RENDER, HANDOFF, END = 0, 1, 2, 3, 4
HANDOFF_ITEMS = ((HANDOFF,),)
END_ITEM = (END,)
# A generator or coroutine frame can be resumed by another caller: never a cached anchor.
RESUMABLE = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


@dataclass
class QueryRecord:
    alias: str
    sql: str
    params: Any
    many: bool
    duration: float
    run: int
    # Project-code frames, innermost first: (file, line, function).
    stack: list[tuple[str, int, str]] = field(default_factory=list)
    # The template line being rendered when the query ran, and the {% for %} around it.
    template: tuple[str, int] | None = None
    loop_line: int | None = None
    in_atomic: bool = False
    rows: int | None = None
    # Line-profiled functions that were running, and on which line: ((file, first, name), line).
    lines: list[tuple[tuple[str, int, str], int]] = field(default_factory=list)

    @property
    def origin(self) -> tuple[str, int, str] | None:
        return self.stack[0] if self.stack else None


def _template_hooks() -> tuple[Any, type]:
    from django.template.base import Node
    from django.template.defaulttags import ForNode

    return Node.render_annotated.__code__, ForNode


class QueryCollector:
    """``harness_files``: the files of the code that sends the requests (the walk stops there)."""

    def __init__(self, harness_files: Iterable[str] = ()) -> None:
        # Raw tuples while recording (cheap, and nothing to trace under lineprof); records on read.
        self._raw: list[tuple[Any, ...]] = []
        self._records: list[QueryRecord] = []
        self.recording = False
        self.run = 0
        self.is_project = ProjectCode()
        self.harness_files = frozenset(harness_files)
        self.file_kinds: dict[str, int] = {}
        from asgiref.sync import SyncToAsync

        # Where sync_to_async runs a function: the frames outside are not its callers.
        self.thread_handler_code = SyncToAsync.thread_handler.__code__
        self.render_code, self.for_node = _template_hooks()
        self.special_files = {self.render_code.co_filename, self.thread_handler_code.co_filename}
        self.line_ids: dict[int, tuple[Any, tuple[str, int, str]]] = {}
        self.profiled_files: set[str] = set()
        # Frames met by earlier walks that may still be on the stack, and what lies outside them:
        # id(frame) -> (frame, height, items further out, the frame's own items if fixed,
        # digests of the walks that ended there).
        self.anchors: dict[int, tuple[FrameType, int, tuple[Any, ...], Any, dict[Any, Any]]] = {}
        self.anchor_path: list[FrameType] = []  # the anchors of the last walk, by height
        self.anchor_owner: int | None = None  # the thread whose frames they are
        # line_profiler's trace function while lineprof runs, when sys.settrace can take it
        # off and put it back (line_profiler 5's manager; see _suspendable_tracer).
        self.line_tracer: Any = None

    @contextmanager
    def installed(self) -> Iterator[None]:
        with ExitStack() as stack:
            for alias in connections:
                wrapper = self._wrapper_for(alias)
                stack.enter_context(connections[alias].execute_wrapper(wrapper))
            yield

    def _wrapper_for(self, alias: str) -> Callable[..., Any]:
        connection = connections[alias]

        def record(
            execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
        ) -> Any:
            if not self.recording or sql.startswith(SANDBOX_STATEMENTS):
                return execute(sql, params, many, context)
            # Under a line tracer (lineprof) our own bookkeeping should not emit line events.
            sys._getframe().f_trace_lines = False
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                duration = time.perf_counter() - start
                tracer = self.line_tracer
                if tracer is not None and sys.gettrace() is tracer:
                    # The bookkeeping is none of the user's lines: line_profiler need not
                    # trace it (with a tracer on, every bytecode takes the interpreter's slow
                    # tracing path, and every call and line calls the tracer back).
                    sys.settrace(None)
                else:
                    tracer = None
                try:
                    self._record(
                        alias, connection, sql, params, many, context, duration, sys._getframe(1)
                    )
                finally:
                    if tracer is not None:
                        sys.settrace(tracer)
                        # The next call goes to line_profiler, which puts its C callback back.
                        _hand_back()

        return record

    def _record(
        self,
        alias: str,
        connection: Any,
        sql: str,
        params: Any,
        many: bool,
        context: Any,
        duration: float,
        caller: FrameType | None,
    ) -> None:
        """Keep the query with its origin, as a raw tuple in QueryRecord's field order."""
        sys._getframe().f_trace_lines = False
        # The database cursor's own rowcount: Django's wrapper would answer through its
        # __getattr__, Python code a user may be line-profiling.
        cursor = context.get("cursor")
        rowcount = getattr(getattr(cursor, "cursor", cursor), "rowcount", -1)
        stack, template, loop_line, lines, crossed = self._locate(caller)
        if crossed and ASYNC_LOOP.get() is not None and len(stack) < MAX_STACK:
            # Run by sync_to_async: the callers are the awaiting coroutine's frames.
            awaiting = self._awaiting_stack(ASYNC_LOOP.get())
            stack = [*stack, *awaiting][:MAX_STACK]
        self._raw.append(
            (
                alias,
                sql,
                params,
                many,
                duration,
                self.run,
                stack,
                template,
                loop_line,
                connection.in_atomic_block,
                rowcount if isinstance(rowcount, int) and rowcount >= 0 else None,
                lines,
            )
        )

    @property
    def queries(self) -> list[QueryRecord]:
        # Raw tuples are in QueryRecord's field order.
        self._records.extend(QueryRecord(*raw) for raw in self._raw[len(self._records) :])
        return self._records

    def clear(self) -> None:
        self._raw.clear()
        self._records.clear()

    def _locate(self, frame: FrameType | None) -> tuple[Any, Any, Any, Any, bool]:
        """Project-code stack, template line, {% for %} line, line-profiled lines, and whether
        the query runs for a coroutine on another thread (sync_to_async).

        Hot path (every query; traced too under lineprof with line_profiler 4). A library
        frame costs one dict lookup by file name. The walk outwards ends at the harness, or at
        a frame an earlier query's walk met: while a frame runs, the frames outside it wait on
        the same call, so what they told that walk still holds (the N+1 queries of one loop
        share every frame from the loop outwards).
        """
        sys._getframe().f_trace_lines = False
        kinds = self.file_kinds
        anchors = self.anchors
        render, handoff = self.render_code, self.thread_handler_code
        items: list[Any] = []
        new: list[tuple[FrameType, int, Any]] = []  # frames to remember, innermost first
        known = None
        while frame is not None:
            code = frame.f_code
            kind = kinds.get(code.co_filename)
            if kind is None:
                kind = self._file_kind(code.co_filename)
            if not kind or (kind == SPECIAL and code is not render and code is not handoff):
                frame = frame.f_back  # library code
                continue
            if kind == STOP:
                items.append(END_ITEM)
                break
            known = anchors.get(id(frame))
            if known is not None and known[0] is frame:
                items.extend(known[3] or self._frame_items(frame, code, kind))
                # The queries of a loop repeat the same few inner paths: digest each once.
                signature = tuple(items)
                found = known[4].get(signature)
                if found is None:
                    found = known[4][signature] = _digest([*items, *known[2]])
                self._remember(new, items, known)
                stack, template, loop_line, lines, crossed = found
                return list(stack), template, loop_line, list(lines), crossed
            known = None
            own = self._frame_items(frame, code, kind)
            if own:
                items.extend(own)
                if own[-1][0] == HANDOFF:
                    break
                if not code.co_flags & RESUMABLE:
                    fixed = own if own[0][0] == RENDER else None
                    new.append((frame, len(items), fixed))
            frame = frame.f_back
        self._remember(new, items, None)
        return _digest(items)

    def _frame_items(self, frame: FrameType, code: Any, kind: int) -> tuple[Any, ...]:
        """What one frame of a project, special or line-profiled file adds to the walk."""
        sys._getframe().f_trace_lines = False  # as in _locate
        items: tuple[Any, ...] = ()
        if kind & PROFILED:
            lined = self.line_ids.get(id(code))
            if lined is not None and lined[0] is code:
                items = ((LINE, lined[1], frame.f_lineno),)
        if kind & SPECIAL:  # before PROJECT: asgiref or Django may be installed as project code
            if code is self.render_code:
                node = frame.f_locals.get("self")
                token = getattr(node, "token", None)
                origin = getattr(node, "origin", None)
                if token is not None and origin is not None:
                    name = str(origin.template_name or origin.name)
                    is_for = isinstance(node, self.for_node)
                    # id(): an Origin is not hashable, and items are digest keys.
                    return (*items, (RENDER, id(origin), name, token.lineno, is_for))
                return items
            if code is self.thread_handler_code:
                return HANDOFF_ITEMS
        if kind & PROJECT:
            return (*items, (FRAME, (code.co_filename, frame.f_lineno, _function_name(code))))
        return items

    def _remember(
        self, new: list[tuple[FrameType, int, Any]], items: list[Any], known: Any
    ) -> None:
        """Keep the frames of this walk as anchors, dropping those of earlier walks that are no
        longer on the stack: at most one stack's worth of frames is held."""
        sys._getframe().f_trace_lines = False  # as in _locate
        # One thread keeps anchors (the one that ran the first query): concurrent walks on
        # other threads still reuse nothing wrong, as their frames are never anchors.
        owner, thread = self.anchor_owner, threading.get_ident()
        if owner is None:
            self.anchor_owner = owner = thread
        if owner != thread:
            return
        anchors, path = self.anchors, self.anchor_path
        height = 0
        if known is not None:
            height = known[1] + 1
            if len(path) < height or path[height - 1] is not known[0]:
                # Not the last walk's path (defensive): start afresh next time.
                anchors.clear()
                path.clear()
                return
        for stale in path[height:]:
            anchors.pop(id(stale), None)  # another thread may have dropped it
        del path[height:]
        outward = known[2] if known is not None else ()
        for frame, after, fixed in reversed(new):
            anchors[id(frame)] = (frame, len(path), (*items[after:], *outward), fixed, {})
            path.append(frame)

    def forget_frames(self) -> None:
        self.anchors.clear()
        self.anchor_path.clear()
        self.anchor_owner = None

    @property
    def line_codes(self) -> dict[Any, tuple[str, int, str]]:
        """Code objects of line-profiled functions and their line_profiler keys (lineprof)."""
        return dict(self.line_ids.values())

    @line_codes.setter
    def line_codes(self, codes: dict[Any, tuple[str, int, str]]) -> None:
        self.line_ids = {id(code): (code, key) for code, key in codes.items()}
        self.profiled_files = {code.co_filename for code in codes}
        self.file_kinds.clear()
        self.forget_frames()

    def _file_kind(self, filename: str) -> int:
        if filename in self.harness_files:
            kind = STOP
        else:
            kind = PROJECT if self.is_project(filename) else LIBRARY
            if filename in self.special_files:
                kind |= SPECIAL
            if filename in self.profiled_files:
                kind |= PROFILED
        self.file_kinds[filename] = kind
        return kind

    def _awaiting_stack(self, loop: Any) -> list[tuple[str, int, str]]:
        """Project frames of the coroutine suspended while this query runs for it: the task
        waiting on a sync_to_async call, else (an async generator hides that call) the first
        task suspended in project code."""
        for chain in suspended_chains(loop):
            stack = []
            for frame in reversed(chain):
                code = frame.f_code
                kind = self.file_kinds.get(code.co_filename)
                if kind is None:
                    kind = self._file_kind(code.co_filename)
                if kind & PROJECT:
                    stack.append((code.co_filename, frame.f_lineno, _function_name(code)))
                    if len(stack) == MAX_STACK:
                        break
            if stack:
                return stack
        return []

    def start(self, frame: FrameType | None) -> None:
        self.recording = True
        if self.profiled_files:
            self.line_tracer = _suspendable_tracer()

    def stop(self) -> None:
        self.recording = False
        self.line_tracer = None
        self.run += 1
        self.forget_frames()  # hold no frame of a finished run

    def for_run(self, run: int) -> list[QueryRecord]:
        return [q for q in self.queries if q.run == run]


def _suspendable_tracer() -> Any:
    """line_profiler's trace function on this thread, if it is one that sys.settrace can take
    off and put back: line_profiler 5's manager, which reinstalls its C callback on the first
    call it sees after sys.settrace(manager). line_profiler 4 installs itself in a way that
    cannot be restored, and a later major version may change that detail: those stay traced."""
    tracer = sys.gettrace()
    if tracer is None or not hasattr(tracer, "active_instances"):
        return None
    from line_profiler import __version__

    return tracer if __version__.split(".", 1)[0] == "5" else None


def _hand_back() -> None:
    """A call for the trace function that sys.settrace just installed to see."""


def _digest(items: list[Any]) -> tuple[Any, Any, Any, Any, bool]:
    """The walk's findings, innermost first, as a query's origin: up to MAX_STACK project
    frames, the template line being rendered and the {% for %} around it in the same template
    (nothing further out is needed once the stack is full, unless a template line was found
    without its loop), every line-profiled line, and whether sync_to_async ran the query."""
    sys._getframe().f_trace_lines = False  # as in _locate
    stack: list[tuple[str, int, str]] = []
    lines: list[tuple[tuple[str, int, str], int]] = []
    template = loop_line = template_origin = None
    learning = True
    for item in items:
        tag = item[0]
        if tag == LINE:
            lines.append((item[1], item[2]))
        elif tag == HANDOFF:
            return stack, template, loop_line, lines, True
        elif tag == END:
            break
        elif not learning:
            continue
        elif tag == FRAME:
            if len(stack) < MAX_STACK:
                stack.append(item[1])
            learning = len(stack) < MAX_STACK or (template is not None and loop_line is None)
        elif template is None:  # (RENDER, id(origin), name, line, is a {% for %})
            template_origin = item[1]
            template = (item[2], item[3])
        elif loop_line is None and item[4] and item[1] == template_origin:
            loop_line = item[3]
            learning = len(stack) < MAX_STACK
    return stack, template, loop_line, lines, False


def _function_name(code: Any) -> str:
    return str(getattr(code, "co_qualname", code.co_name))
