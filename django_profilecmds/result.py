"""The outcome of a profiling run, as plain data (``to_dict()`` is JSON-serialisable)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django_profilecmds.analysis.lines import FunctionLines
from django_profilecmds.analysis.sql import SqlAnalysis
from django_profilecmds.analysis.stats import Summary
from django_profilecmds.spec import RunSpec

if TYPE_CHECKING:
    import pstats

    from pyinstrument.session import Session

    from django_profilecmds.collectors.sql import QueryRecord


@dataclass
class RunTiming:
    wall: float
    cpu: float
    queries: int
    db_time: float
    status: int | None


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
class RunResult:
    """Everything one ``profile_request()`` learned. Profiler artefacts are kept as objects."""

    spec: RunSpec
    driver: str
    user: str | None
    runs: list[RunTiming]
    wall: Summary
    cpu: Summary
    response: ResponseSummary
    queries: list[QueryRecord]
    emails: list[EmailSummary]
    environment: dict[str, str]
    sql: SqlAnalysis | None = None
    view: str = ""
    budget_failures: list[str] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    output: dict[str, str] | None = None  # a profiled command's stdout and stderr
    created: str = ""  # local time the run started, ISO 8601
    lines: list[FunctionLines] = field(default_factory=list)
    line_stats: Any = field(default=None, repr=False)
    errors: list[str] = field(default_factory=list)
    comparison: list[dict[str, Any]] = field(default_factory=list)  # against a --compare file
    comparison_settings: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # What the sandbox refused (statements that would have escaped the rollback).
    refused: list[str] = field(default_factory=list)
    files_written: list[str] = field(default_factory=list)  # through a storage, discarded
    files_deleted: list[str] = field(default_factory=list)  # through a storage, kept
    # Django's test runner ran on test databases of its own; the project's were read-only.
    test_databases: bool = False
    caches: list[dict[str, Any]] = field(default_factory=list)  # per alias, counted runs
    files: dict[str, Path] = field(default_factory=dict)
    calltree: Session | None = field(default=None, repr=False)
    function_stats: pstats.Stats | None = field(default=None, repr=False)
    # Values that must be masked wherever they appear (never serialised).
    secrets: list[str] = field(default_factory=list, repr=False)

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.spec.title,
            "created": self.created,
            "spec": dataclasses.asdict(self.spec),
            "driver": self.driver,
            "view": self.view,
            "user": self.user,
            "status": self.status,
            "failed": self.failed,
            "runs": [dataclasses.asdict(run) for run in self.runs],
            "wall": dataclasses.asdict(self.wall),
            "cpu": dataclasses.asdict(self.cpu),
            "query_count": self.query_count,
            "db_time": self.db_time,
            "response": dataclasses.asdict(self.response),
            "queries": [
                {
                    "run": q.run,
                    "alias": q.alias,
                    "sql": q.sql,
                    "params": _jsonable(q.params),
                    "many": q.many,
                    "duration": q.duration,
                    "rows": q.rows,
                    "in_atomic": q.in_atomic,
                    "stack": [list(frame) for frame in q.stack],
                    "template": list(q.template) if q.template else None,
                    "loop_line": q.loop_line,
                }
                for q in self.queries
            ],
            "sql": dataclasses.asdict(self.sql) if self.sql else None,
            "budget_failures": self.budget_failures,
            "targets": self.targets,
            "output": self.output,
            "lines": [dataclasses.asdict(entry) for entry in self.lines],
            "emails": [dataclasses.asdict(email) for email in self.emails],
            "environment": self.environment,
            "errors": self.errors,
            "comparison": self.comparison,
            "comparison_settings": self.comparison_settings,
            "warnings": self.warnings,
            "refused": self.refused,
            "files_written": self.files_written,
            "files_deleted": self.files_deleted,
            "caches": self.caches,
            "files": {kind: str(path) for kind, path in self.files.items()},
        }


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return str(value)
