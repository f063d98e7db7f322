"""The outcome of a profiling run, as plain data: ``to_dict()`` is JSON-serialisable and
``RunResult.from_dict()`` reads it back. What the profilers left, as their own objects, is
kept apart in ``result.artefacts`` and never serialised."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django_profilecmds.analysis.lines import FunctionLines
from django_profilecmds.analysis.sql import SqlAnalysis
from django_profilecmds.analysis.stats import Summary
from django_profilecmds.spec import RunSpec

if TYPE_CHECKING:
    import pstats
    from collections.abc import Callable

    from line_profiler.line_profiler import LineStats
    from pyinstrument.session import Session

    from django_profilecmds.collectors.sql import QueryRecord


@dataclass
class RunTiming:
    wall: float
    cpu: float
    queries: int
    db_time: float
    status: int | None
    # Seconds of wall time the harness itself added inside the run (recording the queries and
    # their origins); the call tree leaves them out.
    overhead: float = 0.0


@dataclass
class ResponseSummary:
    status: int | None
    reason: str
    content_type: str
    size: int
    streaming: bool
    headers: dict[str, str]
    body_preview: str = ""


@dataclass
class EmailSummary:
    subject: str
    from_email: str
    to: list[str]


@dataclass
class RequestIdentity:
    """Who the request turned out to be, read once it was answered: the user that Django's
    AuthenticationMiddleware or DRF set on it, and what carried them."""

    label: str  # "as alice (pk=1) · by Authorization header", "anonymous, although ..."
    user: str | None  # "alice (pk=1)"; None: anonymous
    by: str  # "session", "authorization" (the header), "direct" (attached), "" (not known)
    authorization: bool  # an Authorization header was sent
    sent: str | None  # --user, whose session the request carried
    attached: bool = False  # --direct put --user on the request instead of a session
    authentication: list[str] = field(default_factory=list)  # the DRF view's classes, by name


@dataclass
class ProfilerArtefacts:
    """What the profilers left, as their own objects: the report files are drawn from them."""

    calltree: Session | None = None  # pyinstrument's
    function_stats: pstats.Stats | None = None  # cProfile's
    line_stats: LineStats | None = None  # line_profiler's
    # pyinstrument's samples in time order, the harness's included (the speedscope file), made
    # when asked for: most runs write no speedscope file.
    timeline: Callable[[], Session | None] | None = None


# Kept on the result, left out of to_dict() (and so of every report).
NOT_SAVED = {"saved": False}
# What to_dict() holds besides the fields: values computed from them, each after the field named
# (the spec's title comes first: the index reads a run's file from its start).
COMPUTED_AFTER = {"identity": ("status", "failed"), "cpu": ("query_count", "db_time")}


@dataclass(kw_only=True)
class RunResult:
    """Everything one ``profile_request()`` learned. The fields are in the order ``to_dict()``
    writes them."""

    created: str = ""  # local time the run started, ISO 8601
    spec: RunSpec
    driver: str
    view: str = ""
    user: str | None  # --user, as found
    identity: RequestIdentity | None = None  # who the request was (None: not a request)
    runs: list[RunTiming]
    wall: Summary
    cpu: Summary
    response: ResponseSummary
    queries: list[QueryRecord]
    sql: SqlAnalysis | None = None
    budget_failures: list[str] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    output: dict[str, str] | None = None  # a profiled command's stdout and stderr
    lines: list[FunctionLines] = field(default_factory=list)
    emails: list[EmailSummary]
    environment: dict[str, str]
    errors: list[str] = field(default_factory=list)
    comparison: list[dict[str, Any]] = field(default_factory=list)  # against a --compare file
    comparison_settings: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # What the sandbox refused (statements that would have escaped the rollback).
    refused: list[str] = field(default_factory=list)
    files_written: list[str] = field(default_factory=list)  # through a storage, discarded
    files_deleted: list[str] = field(default_factory=list)  # through a storage, kept
    # Django's test runner ran on test databases of its own; the project's were read-only.
    test_databases: bool = field(default=False, metadata=NOT_SAVED)
    caches: list[dict[str, Any]] = field(default_factory=list)  # per alias, counted runs
    files: dict[str, Path] = field(default_factory=dict)
    # Values that must be masked wherever they appear (never serialised).
    secrets: list[str] = field(default_factory=list, repr=False, metadata=NOT_SAVED)
    artefacts: ProfilerArtefacts = field(
        default_factory=ProfilerArtefacts, repr=False, compare=False, metadata=NOT_SAVED
    )

    @property
    def calltree(self) -> Session | None:
        """pyinstrument's session of the counted runs (``artefacts.calltree``)."""
        return self.artefacts.calltree

    @calltree.setter
    def calltree(self, session: Session | None) -> None:
        self.artefacts.calltree = session

    @property
    def function_stats(self) -> pstats.Stats | None:
        """cProfile's statistics of the counted runs (``artefacts.function_stats``)."""
        return self.artefacts.function_stats

    @function_stats.setter
    def function_stats(self, stats: pstats.Stats | None) -> None:
        self.artefacts.function_stats = stats

    @property
    def line_stats(self) -> LineStats | None:
        """line_profiler's timings of the counted runs (``artefacts.line_stats``)."""
        return self.artefacts.line_stats

    @line_stats.setter
    def line_stats(self, stats: LineStats | None) -> None:
        self.artefacts.line_stats = stats

    @property
    def status(self) -> int | None:
        return self.response.status

    @property
    def failed(self) -> bool:
        """The view raised, answered with a server error, or the sandbox refused a write."""
        return (
            bool(self.errors)
            or bool(self.refused)
            or (self.status is not None and self.status >= 500)
        )

    @property
    def query_count(self) -> int:
        """Queries per run (the median over counted runs)."""
        counts = sorted(run.queries for run in self.runs)
        return counts[len(counts) // 2]

    @property
    def db_time(self) -> float:
        return sum(q.duration for q in self.queries) / len(self.runs)

    @property
    def overhead(self) -> float:
        """Seconds per run the harness added to the wall time (the SQL bookkeeping)."""
        return sum(run.overhead for run in self.runs) / len(self.runs) if self.runs else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-serialisable data: the saved fields in order, with the computed
        values among them, and queries without their line-profiler bookkeeping."""
        from django_profilecmds.plaindata import to_plain

        document: dict[str, Any] = {"title": self.spec.title}
        for item in dataclasses.fields(self):
            if item.metadata.get("saved", True):
                value = getattr(self, item.name)
                document[item.name] = (
                    [query_dict(query) for query in value]
                    if item.name == "queries"
                    else to_plain(value)
                )
            for name in COMPUTED_AFTER.get(item.name, ()):
                document[name] = getattr(self, name)
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        """The result that ``to_dict()`` made ``data`` from, such as a report's ``.json``
        (its ``index_row`` is ignored). What was masked stays masked, and what is never saved
        is left out: the profilers' artefacts, the run's secrets, the test-runner flag and which
        line-profiled line each query ran on. Raises
        :class:`~django_profilecmds.exceptions.InvalidReport` for a document that is no run's."""
        from django_profilecmds.collectors.sql import QueryRecord
        from django_profilecmds.exceptions import InvalidReport, ProfileCmdsError
        from django_profilecmds.plaindata import build, field_types

        fields = [f for f in dataclasses.fields(cls) if f.metadata.get("saved", True)]
        missing = [
            f.name
            for f in fields
            if f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
            and f.name not in data
        ]
        if missing:
            raise InvalidReport(f"Not a run's report: no {', '.join(map(repr, missing))}.")
        hints = field_types(cls, QueryRecord=QueryRecord)
        try:
            return build(cls, data, {f.name: hints[f.name] for f in fields})
        except (TypeError, ValueError, KeyError, AttributeError, ProfileCmdsError) as exc:
            raise InvalidReport(f"Not a run's report: {exc}") from exc


def query_dict(query: QueryRecord) -> dict[str, Any]:
    """A query as ``to_dict()`` holds it: its parameters as JSON values, its frames as lists."""
    return {
        "run": query.run,
        "alias": query.alias,
        "sql": query.sql,
        "params": _jsonable(query.params),
        "many": query.many,
        "duration": query.duration,
        "rows": query.rows,
        "in_atomic": query.in_atomic,
        "stack": [list(frame) for frame in query.stack],
        "template": list(query.template) if query.template else None,
        "loop_line": query.loop_line,
    }


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return str(value)
