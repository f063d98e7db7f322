"""Every SQL query on every database alias, through ``connection.execute_wrapper``.

The wrapper is installed once for the whole profiling session; ``start``/``stop`` only flip a
flag, so warm-up runs and the time between runs cost one attribute check per query. Each
recorded query keeps its origin (:mod:`.origins`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from time import perf_counter
from types import FrameType
from typing import TYPE_CHECKING, Any

from django.db import connections

from django_profilecmds.collectors.origins import (
    LibraryStack,
    Location,
    Origin,
    OriginWalker,
    ProfiledLine,
)
from django_profilecmds.collectors.relations import Relation

if TYPE_CHECKING:
    from _typeshed import TraceFunction
    from django.db.backends.base.base import BaseDatabaseWrapper

# Inside the sandbox's transaction a view's atomic() becomes savepoints, where in production
# it is BEGIN/COMMIT, which never reach a cursor: they are not the view's queries.
SANDBOX_STATEMENTS = ("SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT ")
WRITES = ("INSERT", "UPDATE", "DELETE")


@dataclass
class QueryRecord:
    alias: str
    sql: str
    params: Any
    many: bool
    duration: float
    run: int
    # Project-code frames, innermost first: (file, line, function).
    stack: list[Location] = field(default_factory=list)
    # The template line being rendered when the query ran, and the {% for %} around it.
    template: tuple[str, int] | None = None
    loop_line: int | None = None
    # The {% for %} around it in any template, and the line rendering in each template from
    # the innermost out to that one ({% include %}, {% extends %}, inclusion tags).
    loop: tuple[str, int] | None = None
    templates: tuple[tuple[str, int], ...] = ()
    in_atomic: bool = False
    rows: int | None = None
    # Line-profiled functions that were running, and on which line: ((file, first, name), line).
    lines: list[ProfiledLine] = field(default_factory=list)
    # The relation that ran the query (a descriptor or related manager), when one did.
    relation: Relation | None = None
    # With no project frame: the library frames that ran it, innermost first (with the line
    # of the for loop each is in).
    library: LibraryStack = ()

    @property
    def origin(self) -> Location | None:
        return self.stack[0] if self.stack else None


# One query as recorded: (alias, sql, params, many, duration, run, origin, in_atomic, rows,
# relation, library frames).
# A bare tuple: one is built per query while recording, where a tuple display costs 70 ns and
# a QueryRecord 440 ns (its __init__ is Python code, which line_profiler 4 traces too); the
# record is made from it when read.
RawQuery = tuple[
    str, str, Any, bool, float, int, Origin, bool, int | None, Relation | None, LibraryStack | None
]


class QueryCollector(OriginWalker):
    """Records the queries of the counted runs, each with its origin (found by the walk it
    inherits). ``harness_files``: the files of the code that sends the requests."""

    def __init__(self, harness_files: Iterable[str] = ()) -> None:
        super().__init__(harness_files)
        # Raw tuples while recording (cheap, and nothing to trace under lineprof); records on read.
        self._raw: list[RawQuery] = []
        self._records: list[QueryRecord] = []
        # Per alias, the last statement with a RETURNING clause whose rows were not counted
        # yet: its index in _raw and its database cursor.
        self._returning: dict[str, tuple[int, Any]] = {}
        self.recording = False
        self.run = 0
        # Per counted run, the seconds the recording itself took inside the run (what the
        # harness added to the request's wall time; the queries' own time is not in it).
        self.overhead: list[float] = []
        # line_profiler's trace function while lineprof runs, when sys.settrace can take it
        # off and put it back (line_profiler 5's manager; see _suspendable_tracer).
        self.line_tracer: TraceFunction | None = None

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
            entered = perf_counter()
            if alias in self._returning:  # before this execute resets a cursor's count
                self._settle_returning(alias)
            # Under a line tracer (lineprof) our own bookkeeping should not emit line events.
            sys._getframe().f_trace_lines = False
            start = perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                end = perf_counter()
                duration = end - start
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
                    self.overhead[-1] += start - entered + perf_counter() - end

        return record

    def _record(
        self,
        alias: str,
        connection: BaseDatabaseWrapper,
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
        duration: float,
        caller: FrameType | None,
    ) -> None:
        """Keep the query with its origin, as a raw tuple (see RawQuery)."""
        sys._getframe().f_trace_lines = False
        # The database cursor's own rowcount: Django's wrapper would answer through its
        # __getattr__, Python code a user may be line-profiling.
        cursor = context.get("cursor")
        database_cursor = getattr(cursor, "cursor", cursor)
        rowcount = getattr(database_cursor, "rowcount", -1)
        if rowcount in (0, -1) and sql[:6].upper() in WRITES and "RETURNING" in sql.upper():
            # SQLite counts the rows of INSERT ... RETURNING once they are fetched, which
            # Django does after this: the count is read then (see _settle_returning).
            self._returning[alias] = (len(self._raw), database_cursor)
        origin = self.locate(caller)
        self._raw.append(
            (
                alias,
                sql,
                params,
                many,
                duration,
                self.run,
                origin,
                connection.in_atomic_block,
                rowcount if isinstance(rowcount, int) and rowcount >= 0 else None,
                self.last_relation,
                self.last_library,
            )
        )

    def _settle_returning(self, alias: str) -> None:
        """The rows of ``alias``'s last RETURNING statement, as its cursor counts them now
        that Django has fetched them (the cursor's count outlives its closing)."""
        index, cursor = self._returning.pop(alias)
        rowcount = getattr(cursor, "rowcount", -1)
        if not isinstance(rowcount, int) or rowcount < 0:
            return
        if index >= len(self._raw):  # a warm-up run's statement, not kept (see Rehearsal)
            return
        raw = self._raw[index]
        self._raw[index] = (*raw[:8], rowcount, *raw[9:])
        if index < len(self._records):
            self._records[index].rows = rowcount

    @property
    def queries(self) -> list[QueryRecord]:
        self._records.extend(_record_of(raw) for raw in self._raw[len(self._records) :])
        return self._records

    def clear(self) -> None:
        self._raw.clear()
        self._records.clear()
        self._returning.clear()

    def start(self, frame: FrameType | None) -> None:
        self.recording = True
        self.overhead.append(0.0)
        if self.profiled_files:
            self.line_tracer = _suspendable_tracer()

    def stop(self) -> None:
        for alias in list(self._returning):
            self._settle_returning(alias)
        self.recording = False
        self.line_tracer = None
        self.run += 1
        self.forget_frames()  # hold no frame of a finished run

    def rehearsal(self) -> Rehearsal:
        """This collector as warm-up runs use it: see :class:`Rehearsal`."""
        return Rehearsal(self)

    def for_run(self, run: int) -> list[QueryRecord]:
        return [q for q in self.queries if q.run == run]


def _record_of(raw: RawQuery) -> QueryRecord:
    alias, sql, params, many, duration, run, origin, in_atomic, rows, relation, library = raw
    return QueryRecord(
        alias=alias,
        sql=sql,
        params=params,
        many=many,
        duration=duration,
        run=run,
        stack=list(origin.stack),
        template=origin.template,
        loop_line=origin.loop_line,
        loop=origin.loop,
        templates=origin.templates,
        in_atomic=in_atomic,
        rows=rows,
        lines=list(origin.lines),
        relation=relation,
        library=library or (),
    )


def _suspendable_tracer() -> TraceFunction | None:
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


class Rehearsal:
    """The query collector during a warm-up run: each query's frames are walked, filling the
    walk's caches (which files are project code, which frames run relations), and nothing is
    kept, so the counted runs that follow pay only the walk itself."""

    def __init__(self, queries: QueryCollector) -> None:
        self.queries = queries
        self.kept = 0

    def start(self, frame: FrameType | None) -> None:
        queries = self.queries
        self.kept = len(queries._raw)
        queries.recording = True
        queries.overhead.append(0.0)

    def stop(self) -> None:
        queries = self.queries
        queries.recording = False
        del queries._raw[self.kept :]
        for alias, (index, _cursor) in list(queries._returning.items()):
            if index >= self.kept:
                del queries._returning[alias]
        queries.overhead.pop()
        queries.forget_frames()
