"""Every SQL query on every database alias, through ``connection.execute_wrapper``.

The wrapper is installed once for the whole profiling session; ``start``/``stop`` only flip a
flag, so warm-up runs and the time between runs cost one attribute check per query.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from django.db import connections


@dataclass
class QueryRecord:
    alias: str
    sql: str
    params: Any
    many: bool
    duration: float
    run: int


class QueryCollector:
    def __init__(self) -> None:
        self.queries: list[QueryRecord] = []
        self.recording = False
        self.run = 0

    @contextmanager
    def installed(self) -> Iterator[None]:
        with ExitStack() as stack:
            for alias in connections:
                wrapper = self._wrapper_for(alias)
                stack.enter_context(connections[alias].execute_wrapper(wrapper))
            yield

    def _wrapper_for(self, alias: str) -> Callable[..., Any]:
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
                self.queries.append(QueryRecord(alias, sql, params, many, duration, self.run))

        return record

    def start(self, frame: FrameType | None) -> None:
        self.recording = True

    def stop(self) -> None:
        self.recording = False
        self.run += 1

    def for_run(self, run: int) -> list[QueryRecord]:
        return [q for q in self.queries if q.run == run]
