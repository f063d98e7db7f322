"""Aggregates of replayed traffic, per view (or per group of a view's requests, see
:mod:`.grouping`): online, bounded in memory, and mergeable.

Counts and sums are exact whatever the traffic; percentiles come from a bounded reservoir of
samples per view (exact while a view has at most ``RESERVOIR_SIZE`` requests, a uniform random
sample beyond). Two aggregates merge into the one a single pass over all requests would give:
the same counts and sums, and a reservoir that is again a uniform sample. One view's share is a
:class:`.viewstats.ViewStats`; :class:`ReplayStats` is the whole replay's, with what was not
replayed and why.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from django_profilecmds.analysis.grouping import GroupBy, path_prefix, row_name
from django_profilecmds.analysis.reservoir import RESERVOIR_SIZE, Reservoir
from django_profilecmds.analysis.viewstats import RequestSample, ViewStats, add_counts

__all__ = [
    "RESERVOIR_SIZE",
    "ReplayStats",
    "RequestSample",
    "Reservoir",
    "ViewStats",
    "path_prefix",
    "samples_entries",
]

NOT_FOUND_EXAMPLES = 3
REFUSALS_KEPT = 20


@dataclass
class ReplayStats:
    """The aggregate of a replay: per row (a view, or a group of its requests), plus what was
    not replayed and why."""

    views: dict[str, ViewStats] = field(default_factory=dict)  # row name -> its aggregate
    group_by: GroupBy = "view"
    path_segments: int = 1  # of the path prefix, when grouped by it
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
    # The machine's load, CPUs and versions (see analysis.conditions), once the replay ended.
    conditions: dict[str, Any] = field(default_factory=dict)

    @property
    def replayed(self) -> int:
        return sum(view.requests for view in self.views.values())

    @property
    def total_time(self) -> float:
        return sum(view.total_time for view in self.views.values())

    @property
    def total_cpu_time(self) -> float:
        return sum(view.total_cpu_time for view in self.views.values())

    @property
    def total_db_time(self) -> float:
        return sum(view.total_db_time for view in self.views.values())

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

    @property
    def view_count(self) -> int:
        """The views replayed (fewer than the rows when they are grouped)."""
        return len({view.view_name for view in self.views.values()})

    def add(self, sample: RequestSample) -> None:
        key = row_name(sample.view, sample.group)
        stats = self.views.get(key)
        if stats is None:
            stats = self.views[key] = self._new_view(
                key, sample.view, sample.group, sample.function
            )
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
                mine = self.views[key] = self._new_view(
                    key, theirs.view_name, theirs.group, theirs.function
                )
            mine.merge(theirs)
        add_counts(self.not_found, other.not_found)
        for prefix, examples in other.not_found_examples.items():
            kept = self.not_found_examples.setdefault(prefix, [])
            kept.extend(p for p in examples if p not in kept)
            del kept[NOT_FOUND_EXAMPLES:]
        add_counts(self.skipped_methods, other.skipped_methods)
        add_counts(self.unknown_users, other.unknown_users)
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
            "total_cpu_time": self.total_cpu_time,
            "total_db_time": self.total_db_time,
            "errors": self.errors,
            "client_errors": self.client_errors,
            "client_statuses": self.client_statuses(),
            "refused": self.refused,
            "refused_count": self.refused_count,
            "group_by": self.group_by,
            "path_segments": self.path_segments,
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
            "conditions": self.conditions,
        }

    def _new_view(self, key: str, view: str, group: str | None, function: str) -> ViewStats:
        # One generator per row, seeded from the row's name: the same traffic gives the same
        # reservoirs whatever order the rows first appear in. The CPU and database times have
        # their own, so that keeping them left the wall times' sample as it was.
        rng = random.Random(f"{self.seed}:{key}")
        other = random.Random(f"{self.seed}:{key}:cpu")
        size = self.reservoir_size
        return ViewStats(
            view=key,
            function=function,
            view_name=view,
            group=group,
            times=Reservoir(size, rng),
            query_counts=Reservoir(size, rng),
            cpu_times=Reservoir(size, other),
            db_times=Reservoir(size, other),
        )


def samples_entries(stats: ReplayStats) -> dict[str, dict[str, Any]]:
    """Per row, what ``--save`` keeps for a later ``--compare``."""
    return {
        view.view: {
            "function": view.function,
            "requests": view.requests,
            "samples": list(view.times.values),
            "cpu_samples": list(view.cpu_times.values),
            "db_samples": list(view.db_times.values),
            "queries_per_request": view.queries_per_request,
            "errors": view.errors,
        }
        for view in stats.ranked()
    }
