"""Aggregates of replayed traffic, per view: online, bounded in memory, and mergeable.

Counts and sums are exact whatever the traffic; percentiles come from a bounded reservoir of
samples per view (exact while a view has at most ``RESERVOIR_SIZE`` requests, a uniform random
sample beyond). Two aggregates merge into the one a single pass over all requests would give:
the same counts and sums, and a reservoir that is again a uniform sample.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, field
from typing import Any

from django_profilecmds.analysis.stats import percentile

RESERVOIR_SIZE = 1000
NOT_FOUND_EXAMPLES = 3
REFUSALS_KEPT = 20


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


class Reservoir:
    """A uniform random sample of at most ``size`` values of a stream (Vitter's algorithm R)."""

    def __init__(self, size: int = RESERVOIR_SIZE, rng: random.Random | None = None) -> None:
        self.size = size
        self.seen = 0
        self.values: list[float] = []
        self.rng = rng or random.Random(0)

    def add(self, value: float) -> None:
        self.seen += 1
        if len(self.values) < self.size:
            self.values.append(value)
            return
        slot = self.rng.randrange(self.seen)
        if slot < self.size:
            self.values[slot] = value

    def merge(self, other: Reservoir) -> None:
        """Become a uniform sample of both streams together."""
        if not other.seen:
            return
        if len(self.values) + len(other.values) <= self.size:
            self.values.extend(other.values)
            self.seen += other.seen
            return
        # How many of the kept values come from each side: a draw without replacement from
        # the streams themselves (hypergeometric), then that many from each side's sample.
        remaining_mine, remaining_theirs = self.seen, other.seen
        from_mine = 0
        for _ in range(self.size):
            if self.rng.random() * (remaining_mine + remaining_theirs) < remaining_mine:
                from_mine += 1
                remaining_mine -= 1
            else:
                remaining_theirs -= 1
        merged = self.rng.sample(self.values, from_mine)
        merged += self.rng.sample(other.values, self.size - from_mine)
        self.values = merged
        self.seen += other.seen


@dataclass
class ViewStats:
    """Everything known about one view's replayed requests."""

    view: str
    function: str
    requests: int = 0
    errors: int = 0
    client_errors: int = 0  # answered 4xx: reported, but expected of recorded traffic
    total_time: float = 0.0
    total_queries: int = 0
    total_db_time: float = 0.0
    flagged_requests: int = 0  # requests that ran an N+1 pattern
    nplusone: dict[str, int] = field(default_factory=dict)  # origin -> requests flagged there
    statuses: dict[str, int] = field(default_factory=dict)
    methods: dict[str, int] = field(default_factory=dict)
    slowest_path: str = ""
    slowest_method: str = "GET"
    slowest_time: float = -1.0
    times: Reservoir = field(default_factory=Reservoir)
    query_counts: Reservoir = field(default_factory=Reservoir)

    def add(self, sample: RequestSample) -> None:
        self.requests += 1
        self.errors += sample.error
        self.client_errors += sample.status is not None and 400 <= sample.status < 500
        self.total_time += sample.wall
        self.total_queries += sample.queries
        self.total_db_time += sample.db_time
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

    def merge(self, other: ViewStats) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.client_errors += other.client_errors
        self.total_time += other.total_time
        self.total_queries += other.total_queries
        self.total_db_time += other.total_db_time
        self.flagged_requests += other.flagged_requests
        _add_counts(self.nplusone, other.nplusone)
        _add_counts(self.statuses, other.statuses)
        _add_counts(self.methods, other.methods)
        if other.slowest_time > self.slowest_time:
            self.slowest_time = other.slowest_time
            self.slowest_path = other.slowest_path
            self.slowest_method = other.slowest_method
        self.times.merge(other.times)
        self.query_counts.merge(other.query_counts)

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
    def queries_per_request(self) -> float:
        return self.total_queries / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "function": self.function,
            "requests": self.requests,
            "errors": self.errors,
            "client_errors": self.client_errors,
            "total_time": self.total_time,
            "mean": self.mean,
            "p50": self.p50,
            "p95": self.p95,
            "exact_percentiles": self.exact,
            "queries_per_request": self.queries_per_request,
            "total_queries": self.total_queries,
            "total_db_time": self.total_db_time,
            "flagged_requests": self.flagged_requests,
            "nplusone": dict(self.nplusone),
            "statuses": dict(self.statuses),
            "methods": dict(self.methods),
            "slowest": {
                "method": self.slowest_method,
                "path": self.slowest_path,
                "time": self.slowest_time,
            },
            "samples": list(self.times.values),
            "query_samples": list(self.query_counts.values),
        }


@dataclass
class ReplayStats:
    """The aggregate of a replay: per view, plus what was not replayed and why."""

    views: dict[str, ViewStats] = field(default_factory=dict)
    not_found: dict[str, int] = field(default_factory=dict)  # path prefix -> requests
    not_found_examples: dict[str, list[str]] = field(default_factory=dict)
    skipped_methods: dict[str, int] = field(default_factory=dict)  # unsafe, not replayed
    unknown_users: dict[str, int] = field(default_factory=dict)  # named by JSON lines
    emails: int = 0  # captured, never sent
    user: str | None = None  # who --user named, described
    sampled_out: int = 0
    read: int = 0  # requests read from the source (parsed)
    problem_count: int = 0  # lines of the source that could not be parsed
    problems: list[dict[str, Any]] = field(default_factory=list)
    reservoir_size: int = RESERVOIR_SIZE
    seed: int = 0
    # Statements the sandbox refused: "path: what and where", the first REFUSALS_KEPT of them.
    refused: list[str] = field(default_factory=list)
    refused_count: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def replayed(self) -> int:
        return sum(view.requests for view in self.views.values())

    @property
    def total_time(self) -> float:
        return sum(view.total_time for view in self.views.values())

    @property
    def errors(self) -> int:
        return sum(view.errors for view in self.views.values())

    @property
    def client_errors(self) -> int:
        return sum(view.client_errors for view in self.views.values())

    def client_statuses(self) -> dict[str, int]:
        """Requests per 4xx status, the most frequent first."""
        counts: dict[str, int] = {}
        for view in self.views.values():
            for status, count in view.statuses.items():
                if status.startswith("4"):
                    counts[status] = counts.get(status, 0) + count
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def add(self, sample: RequestSample) -> None:
        stats = self.views.get(sample.view)
        if stats is None:
            stats = self.views[sample.view] = self._new_view(sample.view, sample.function)
        stats.add(sample)

    def add_not_found(self, path: str) -> None:
        prefix = path_prefix(path)
        self.not_found[prefix] = self.not_found.get(prefix, 0) + 1
        examples = self.not_found_examples.setdefault(prefix, [])
        if len(examples) < NOT_FOUND_EXAMPLES and path not in examples:
            examples.append(path)

    def add_refused(self, path: str, refusals: list[str]) -> None:
        self.refused_count += len(refusals)
        for refusal in refusals:
            if len(self.refused) < REFUSALS_KEPT:
                self.refused.append(f"{path}: {refusal}" if path else refusal)

    def skip_method(self, method: str) -> None:
        self.skipped_methods[method] = self.skipped_methods.get(method, 0) + 1

    def merge(self, other: ReplayStats) -> None:
        """Fold ``other`` (another worker's share of the same traffic) into this one."""
        for key, theirs in other.views.items():
            mine = self.views.get(key)
            if mine is None:
                mine = self.views[key] = self._new_view(theirs.view, theirs.function)
            mine.merge(theirs)
        _add_counts(self.not_found, other.not_found)
        for prefix, examples in other.not_found_examples.items():
            kept = self.not_found_examples.setdefault(prefix, [])
            kept.extend(p for p in examples if p not in kept)
            del kept[NOT_FOUND_EXAMPLES:]
        _add_counts(self.skipped_methods, other.skipped_methods)
        _add_counts(self.unknown_users, other.unknown_users)
        self.emails += other.emails
        self.refused_count += other.refused_count
        self.refused = (self.refused + other.refused)[:REFUSALS_KEPT]
        self.warnings = list(dict.fromkeys(self.warnings + other.warnings))
        self.user = self.user or other.user
        self.sampled_out += other.sampled_out
        self.read += other.read
        self.problem_count += other.problem_count
        self.problems = (self.problems + other.problems)[:5]

    def ranked(self) -> list[ViewStats]:
        """Views by their share of the total time, largest first."""
        return sorted(self.views.values(), key=lambda view: view.total_time, reverse=True)

    def share(self, view: ViewStats) -> float:
        total = self.total_time
        return view.total_time / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "user": self.user,
            "replayed": self.replayed,
            "total_time": self.total_time,
            "errors": self.errors,
            "client_errors": self.client_errors,
            "client_statuses": self.client_statuses(),
            "refused": self.refused,
            "refused_count": self.refused_count,
            "views": {
                view.view: {**view.to_dict(), "share": self.share(view)} for view in self.ranked()
            },
            "not_found": dict(sorted(self.not_found.items(), key=lambda item: -item[1])),
            "not_found_examples": self.not_found_examples,
            "skipped_methods": self.skipped_methods,
            "unknown_users": self.unknown_users,
            "emails": self.emails,
            "sampled_out": self.sampled_out,
            "problem_count": self.problem_count,
            "problems": self.problems,
        }

    def _new_view(self, view: str, function: str) -> ViewStats:
        # One generator per view, seeded from the view's name: the same traffic gives the same
        # reservoirs whatever order the views first appear in.
        rng = random.Random(f"{self.seed}:{view}")
        return ViewStats(
            view=view,
            function=function,
            times=Reservoir(self.reservoir_size, rng),
            query_counts=Reservoir(self.reservoir_size, rng),
        )


def path_prefix(path: str) -> str:
    """``/wp-admin/setup.php?x`` -> ``/wp-admin/``; ``/favicon.ico`` -> ``/favicon.ico``."""
    path = path.split("?", 1)[0]
    head, slash, _rest = path.lstrip("/").partition("/")
    return f"/{head}{slash}"


def _add_counts(into: dict[str, int], other: dict[str, int]) -> None:
    for key, count in other.items():
        into[key] = into.get(key, 0) + count


def samples_entries(stats: ReplayStats) -> dict[str, dict[str, Any]]:
    """Per view, what ``--save`` keeps for a later ``--compare``."""
    return {
        view.view: {
            "function": view.function,
            "requests": view.requests,
            "samples": list(view.times.values),
            "queries_per_request": view.queries_per_request,
            "errors": view.errors,
        }
        for view in stats.ranked()
    }
