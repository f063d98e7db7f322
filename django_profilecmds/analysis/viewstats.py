"""One view's replayed requests, aggregated: exact counts and sums, sampled times.

Counts, sums and the slowest request are exact whatever the traffic; the wall times, CPU times,
database times and query counts behind the percentiles are kept in a bounded
:class:`.reservoir.Reservoir` each. Two
aggregates of the same view merge into the one a single pass over all its requests would give.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import Any

from django_profilecmds.analysis.reservoir import Reservoir
from django_profilecmds.analysis.stats import percentile


@dataclass(frozen=True)
class RequestSample:
    """What one replayed request cost."""

    view: str  # URL name (with namespace), else the view's dotted path
    function: str  # the view's dotted path
    method: str
    path: str
    wall: float
    queries: int
    db_time: float
    status: int | None
    nplusone: tuple[str, ...] = ()  # origins of the N+1 patterns this request ran
    error: bool = False  # raised, or answered 5xx
    group: str | None = None  # its template or path prefix, when the replay groups by one
    cpu: float = 0.0  # CPU time of the thread(s) that ran it (see collectors.timing)


@dataclass
class ViewStats:
    """Everything known about one view's replayed requests (or one group of them)."""

    view: str  # the row's name: the view, or ``view · group`` (see analysis.grouping)
    function: str
    view_name: str = ""  # the view alone (its URL name, else its dotted path)
    group: str | None = None  # the template or path prefix of the row's requests
    requests: int = 0
    errors: int = 0
    client_errors: int = 0  # answered 4xx: reported, but expected of recorded traffic
    total_time: float = 0.0
    total_queries: int = 0
    total_db_time: float = 0.0
    total_cpu_time: float = 0.0
    flagged_requests: int = 0  # requests that ran an N+1 pattern
    nplusone: dict[str, int] = field(default_factory=dict)  # origin -> requests flagged there
    statuses: dict[str, int] = field(default_factory=dict)
    methods: dict[str, int] = field(default_factory=dict)
    slowest_path: str = ""
    slowest_method: str = "GET"
    slowest_time: float = -1.0
    times: Reservoir = field(default_factory=Reservoir)
    query_counts: Reservoir = field(default_factory=Reservoir)
    cpu_times: Reservoir = field(default_factory=Reservoir)
    db_times: Reservoir = field(default_factory=Reservoir)

    def __post_init__(self) -> None:
        self.view_name = self.view_name or self.view

    def add(self, sample: RequestSample) -> None:
        self.requests += 1
        self.errors += sample.error
        self.client_errors += sample.status is not None and 400 <= sample.status < 500
        self.total_time += sample.wall
        self.total_queries += sample.queries
        self.total_db_time += sample.db_time
        self.total_cpu_time += sample.cpu
        if sample.nplusone:
            self.flagged_requests += 1
            for origin in sample.nplusone:
                self.nplusone[origin] = self.nplusone.get(origin, 0) + 1
        status = str(sample.status) if sample.status is not None else "raised"
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.methods[sample.method] = self.methods.get(sample.method, 0) + 1
        if sample.wall > self.slowest_time:
            self.slowest_time = sample.wall
            self.slowest_path = sample.path
            self.slowest_method = sample.method
        self.times.add(sample.wall)
        self.query_counts.add(float(sample.queries))
        self.cpu_times.add(sample.cpu)
        self.db_times.add(sample.db_time)

    def merge(self, other: ViewStats) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.client_errors += other.client_errors
        self.total_time += other.total_time
        self.total_queries += other.total_queries
        self.total_db_time += other.total_db_time
        self.total_cpu_time += other.total_cpu_time
        self.flagged_requests += other.flagged_requests
        add_counts(self.nplusone, other.nplusone)
        add_counts(self.statuses, other.statuses)
        add_counts(self.methods, other.methods)
        if other.slowest_time > self.slowest_time:
            self.slowest_time = other.slowest_time
            self.slowest_path = other.slowest_path
            self.slowest_method = other.slowest_method
        self.times.merge(other.times)
        self.query_counts.merge(other.query_counts)
        self.cpu_times.merge(other.cpu_times)
        self.db_times.merge(other.db_times)

    @property
    def mean(self) -> float:
        return self.total_time / self.requests if self.requests else 0.0

    @property
    def exact(self) -> bool:
        """The percentiles are exact (every request is in the reservoir)."""
        return self.times.seen == len(self.times.values)

    @property
    def p50(self) -> float:
        return statistics.median(self.times.values) if self.times.values else 0.0

    @property
    def p95(self) -> float:
        return percentile(sorted(self.times.values), 0.95) if self.times.values else 0.0

    @property
    def cpu_p50(self) -> float:
        """The median CPU time of the thread(s) that ran a request."""
        return statistics.median(self.cpu_times.values) if self.cpu_times.values else 0.0

    @property
    def db_p50(self) -> float:
        """The median time of a request's queries (their durations, summed)."""
        return statistics.median(self.db_times.values) if self.db_times.values else 0.0

    @property
    def queries_per_request(self) -> float:
        return self.total_queries / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "view_name": self.view_name,
            "group": self.group,
            "function": self.function,
            "requests": self.requests,
            "errors": self.errors,
            "client_errors": self.client_errors,
            "total_time": self.total_time,
            "mean": self.mean,
            "p50": self.p50,
            "p95": self.p95,
            "cpu_p50": self.cpu_p50,
            "db_p50": self.db_p50,
            "exact_percentiles": self.exact,
            "queries_per_request": self.queries_per_request,
            "total_queries": self.total_queries,
            "total_db_time": self.total_db_time,
            "total_cpu_time": self.total_cpu_time,
            "flagged_requests": self.flagged_requests,
            "nplusone": dict(ranked_nplusone(self.nplusone)),
            "statuses": dict(self.statuses),
            "methods": dict(self.methods),
            "slowest": {
                "method": self.slowest_method,
                "path": self.slowest_path,
                "time": self.slowest_time,
            },
            "samples": list(self.times.values),
            "query_samples": list(self.query_counts.values),
            "cpu_samples": list(self.cpu_times.values),
            "db_samples": list(self.db_times.values),
        }


def ranked_nplusone(origins: dict[str, int]) -> list[tuple[str, int]]:
    """Where a row's N+1 queries loop, the most requests first; at equal counts the project's
    own code before a library's, then in the order of the files' lines (``html:3`` before
    ``html:10``)."""
    from django_profilecmds.analysis.sql import NO_PROJECT_CODE

    def order(item: tuple[str, int]) -> tuple[int, bool, list[Any]]:
        origin, count = item
        library = origin.endswith(" (library)") or origin.startswith(NO_PROJECT_CODE)
        numbered = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", origin)]
        return -count, library, numbered

    return sorted(origins.items(), key=order)


def add_counts(into: dict[str, int], other: dict[str, int]) -> None:
    """Add the counts of ``other`` to those of ``into``, key by key."""
    for key, count in other.items():
        into[key] = into.get(key, 0) + count
