"""Every SQL query on every database alias, through ``connection.execute_wrapper``.

The wrapper is installed once for the whole profiling session; ``start``/``stop`` only flip a
flag, so warm-up runs and the time between runs cost one attribute check per query.

For each recorded query the origin is found by walking frames (never by formatting a
traceback): the innermost frames in project code, and, when a template is rendering, the
template line being rendered and the ``{% for %}`` line around it.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from django.db import connections

# The event loop of an async run (set by the async drivers): a query that async code runs
# through sync_to_async executes on another thread, where the view's coroutine frames are not
# on the stack; they are found on the loop's suspended tasks instead.
ASYNC_LOOP: contextvars.ContextVar[Any] = contextvars.ContextVar("profilecmds_loop", default=None)

MAX_STACK = 3  # the origin and two callers: what the report shows
# Inside the sandbox's transaction a view's atomic() becomes savepoints, where in production
# it is BEGIN/COMMIT, which never reach a cursor: they are not the view's queries.
SANDBOX_STATEMENTS = ("SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT ")
LIBRARY, PROJECT, STOP = 0, 1, 2  # what a frame's file is, for the origin walk
RENDER, HANDOFF = 3, 4  # a template node rendering; sync_to_async running a function


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


class ProjectCode:
    """Decides, once per file, whether a frame belongs to the user's project."""

    def __init__(self) -> None:
        import django

        import django_profilecmds

        paths = sysconfig.get_paths()
        roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
        roots |= {os.path.dirname(django.__file__), os.path.dirname(django_profilecmds.__file__)}
        self.excluded = tuple(os.path.join(os.path.realpath(r), "") for r in roots if r)
        self.cache: dict[str, bool] = {}

    def __call__(self, filename: str) -> bool:
        known = self.cache.get(filename)
        if known is None:
            known = not filename.startswith("<") and not os.path.realpath(filename).startswith(
                self.excluded
            )
            self.cache[filename] = known
        return known


def _template_hooks() -> tuple[Any, type]:
    from django.template.base import Node
    from django.template.defaulttags import ForNode

    return Node.render_annotated.__code__, ForNode


class QueryCollector:
    def __init__(self) -> None:
        # Raw tuples while recording (cheap, and nothing to trace under lineprof); records on read.
        self._raw: list[tuple[Any, ...]] = []
        self._records: list[QueryRecord] = []
        self.recording = False
        self.run = 0
        self.is_project = ProjectCode()
        from django_profilecmds import asgi, drivers

        # Frames of the harness that sent the request: the walk stops there.
        self.harness_files = {drivers.__file__, asgi.__file__}
        self.frame_kinds: dict[str, int] = {}
        # id(code) -> (code, LIBRARY, PROJECT, STOP, RENDER or HANDOFF)
        self.code_kinds: dict[int, tuple[Any, int]] = {}
        from asgiref.sync import SyncToAsync

        # Where sync_to_async runs a function: the frames outside are not its callers.
        self.thread_handler_code = SyncToAsync.thread_handler.__code__
        self.sync_to_async_code = SyncToAsync.__call__.__code__
        self.crossed = False
        self.render_code, self.for_node = _template_hooks()
        self.line_ids: dict[int, tuple[Any, tuple[str, int, str]]] = {}
        self.root: FrameType | None = None

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
                rowcount = getattr(context.get("cursor"), "rowcount", -1)
                stack, template, loop_line, lines = self._locate(sys._getframe(1))
                if self.crossed and ASYNC_LOOP.get() is not None and len(stack) < MAX_STACK:
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

        return record

    @property
    def queries(self) -> list[QueryRecord]:
        # Raw tuples are in QueryRecord's field order.
        self._records.extend(QueryRecord(*raw) for raw in self._raw[len(self._records) :])
        return self._records

    def clear(self) -> None:
        self._raw.clear()
        self._records.clear()

    def _locate(self, frame: FrameType | None) -> tuple[Any, Any, Any, Any]:
        """Project-code stack, template line, {% for %} line and line-profiled lines.

        Hot path (every query, and traced line by line under lineprof): one dict lookup per
        frame classifies its code object, so most frames cost a lookup and a comparison.
        """
        sys._getframe().f_trace_lines = False
        stack: list[tuple[str, int, str]] = []
        lines: list[tuple[tuple[str, int, str], int]] = []
        template = loop_line = template_origin = None
        self.crossed = False
        kinds = self.code_kinds
        line_codes = self.line_ids
        while frame is not None:
            code = frame.f_code
            # Keyed by id(): hashing a code object hashes its bytecode and constants.
            entry = kinds.get(id(code))
            if entry is None or entry[0] is not code:
                entry = kinds[id(code)] = (code, self._code_kind(code))
            kind = entry[1]
            if line_codes:
                lined = line_codes.get(id(code))
                if lined is not None and lined[0] is code:
                    lines.append((lined[1], frame.f_lineno))
            if kind == LIBRARY:
                frame = frame.f_back
                continue
            if kind == PROJECT:
                stack.append((code.co_filename, frame.f_lineno, _function_name(code)))
                if len(stack) == MAX_STACK and (template is None or loop_line is not None):
                    if line_codes:
                        # Only line-profiled frames are left to find: a tight loop to the
                        # driver's frame (or sync_to_async's boundary).
                        self._profiled_lines(frame.f_back, lines)
                    break  # nothing more to learn further out
            elif kind == RENDER:
                if template is None or loop_line is None:
                    node = frame.f_locals.get("self")
                    token = getattr(node, "token", None)
                    origin = getattr(node, "origin", None)
                    if token is not None and origin is not None:
                        if template is None:
                            template_origin = origin
                            name = origin.template_name or origin.name
                            template = (str(name), token.lineno)
                        elif origin is template_origin and isinstance(node, self.for_node):
                            loop_line = token.lineno
                            if len(stack) >= MAX_STACK:
                                if line_codes:
                                    self._profiled_lines(frame.f_back, lines)
                                break
            elif kind == HANDOFF:
                self.crossed = True  # what lies further out only waits for a coroutine
                break
            else:  # STOP: the harness that sent the request
                break
            frame = frame.f_back
        return stack, template, loop_line, lines

    @property
    def line_codes(self) -> dict[Any, tuple[str, int, str]]:
        """Code objects of line-profiled functions and their line_profiler keys (lineprof)."""
        return dict(self.line_ids.values())

    @line_codes.setter
    def line_codes(self, codes: dict[Any, tuple[str, int, str]]) -> None:
        self.line_ids = {id(code): (code, key) for code, key in codes.items()}

    def _code_kind(self, code: Any) -> int:
        if code is self.render_code:
            return RENDER
        if code is self.thread_handler_code:
            return HANDOFF
        kind = self.frame_kinds.get(code.co_filename)
        if kind is None:
            kind = self.frame_kinds[code.co_filename] = self._kind_of(code.co_filename)
        return kind

    def _profiled_lines(
        self, frame: FrameType | None, lines: list[tuple[tuple[str, int, str], int]]
    ) -> None:
        sys._getframe().f_trace_lines = False  # no line events from this loop under lineprof
        line_codes = self.line_ids
        root = self.root
        boundary = self.thread_handler_code
        while frame is not None and frame is not root:
            code = frame.f_code
            lined = line_codes.get(id(code))
            if lined is not None and lined[0] is code:
                lines.append((lined[1], frame.f_lineno))
            elif code is boundary:
                self.crossed = True
                return
            frame = frame.f_back

    def _awaiting_stack(self, loop: Any) -> list[tuple[str, int, str]]:
        """Project frames of the coroutine suspended while this query runs for it: the task
        waiting on a sync_to_async call, else (an async generator hides that call) the first
        task suspended in project code."""
        try:
            chains = [_await_chain(t.get_coro()) for t in asyncio.all_tasks(loop) if not t.done()]
        except RuntimeError:
            return []
        chains.sort(key=lambda chain: not chain or chain[-1].f_code is not self.sync_to_async_code)
        for chain in chains:
            stack = []
            for frame in reversed(chain):
                code = frame.f_code
                kind = self.frame_kinds.get(code.co_filename)
                if kind is None:
                    kind = self.frame_kinds[code.co_filename] = self._kind_of(code.co_filename)
                if kind == PROJECT:
                    stack.append((code.co_filename, frame.f_lineno, _function_name(code)))
                    if len(stack) == MAX_STACK:
                        break
            if stack:
                return stack
        return []

    def _kind_of(self, filename: str) -> int:
        if filename in self.harness_files:
            return STOP
        return PROJECT if self.is_project(filename) else LIBRARY

    def start(self, frame: FrameType | None) -> None:
        self.root = frame  # the driver's frame: nothing further out ran for the request
        self.recording = True

    def stop(self) -> None:
        self.recording = False
        self.run += 1

    def for_run(self, run: int) -> list[QueryRecord]:
        return [q for q in self.queries if q.run == run]


def _await_chain(coroutine: Any) -> list[FrameType]:
    """The frames of a suspended coroutine and of everything it awaits, outermost first."""
    frames = []
    while coroutine is not None:
        frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "gi_frame", None)
        if frame is None:
            break
        frames.append(frame)
        coroutine = getattr(coroutine, "cr_await", None) or getattr(coroutine, "gi_yieldfrom", None)
    return frames


def _function_name(code: Any) -> str:
    return str(getattr(code, "co_qualname", code.co_name))
