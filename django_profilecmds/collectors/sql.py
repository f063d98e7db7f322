"""Every SQL query on every database alias, through ``connection.execute_wrapper``.

The wrapper is installed once for the whole profiling session; ``start``/``stop`` only flip a
flag, so warm-up runs and the time between runs cost one attribute check per query.

For each recorded query the origin is found by walking frames (never by formatting a
traceback): the innermost frames in project code, and, when a template is rendering, the
template line being rendered and the ``{% for %}`` line around it.
"""

from __future__ import annotations

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

MAX_STACK = 5


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
        self.queries: list[QueryRecord] = []
        self.recording = False
        self.run = 0
        self.is_project = ProjectCode()
        from django_profilecmds import drivers

        # Frames of the harness that sent the request: the walk stops there.
        self.driver_file = drivers.__file__
        self.render_code, self.for_node = _template_hooks()
        # Code objects of line-profiled functions (set by the runner for lineprof).
        self.line_codes: dict[Any, tuple[str, int, str]] = {}

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
            if not self.recording:
                return execute(sql, params, many, context)
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                duration = time.perf_counter() - start
                query = QueryRecord(
                    alias,
                    sql,
                    params,
                    many,
                    duration,
                    self.run,
                    in_atomic=connection.in_atomic_block,
                )
                rowcount = getattr(context.get("cursor"), "rowcount", -1)
                query.rows = rowcount if isinstance(rowcount, int) and rowcount >= 0 else None
                self._locate(query, sys._getframe(1))
                self.queries.append(query)

        return record

    def _locate(self, query: QueryRecord, frame: FrameType | None) -> None:
        stack = query.stack
        template_origin = None
        while frame is not None:
            code = frame.f_code
            if code.co_filename == self.driver_file:
                break
            if self.line_codes:
                key = self.line_codes.get(code)
                if key is not None:
                    query.lines.append((key, frame.f_lineno))
            if code is self.render_code:
                node = frame.f_locals.get("self")
                token = getattr(node, "token", None)
                origin = getattr(node, "origin", None)
                if token is not None and origin is not None:
                    if query.template is None:
                        template_origin = origin
                        name = origin.template_name or origin.name
                        query.template = (str(name), token.lineno)
                    elif (
                        query.loop_line is None
                        and origin is template_origin
                        and isinstance(node, self.for_node)
                    ):
                        query.loop_line = token.lineno
            elif len(stack) < MAX_STACK and self.is_project(code.co_filename):
                stack.append((code.co_filename, frame.f_lineno, _function_name(code)))
            frame = frame.f_back

    def start(self, frame: FrameType | None) -> None:
        self.recording = True

    def stop(self) -> None:
        self.recording = False
        self.run += 1

    def for_run(self, run: int) -> list[QueryRecord]:
        return [q for q in self.queries if q.run == run]


def _function_name(code: Any) -> str:
    return str(getattr(code, "co_qualname", code.co_name))
