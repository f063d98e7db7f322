"""What a replay is told: :class:`ReplayOptions`, and the :class:`Source` it reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django_profilecmds.analysis.grouping import GROUP_BY, GroupBy
from django_profilecmds.analysis.reservoir import RESERVOIR_SIZE

if TYPE_CHECKING:
    from django_profilecmds.replay.recorded import ReplayRequest

# A fixed cap, so that a command works alike on every machine: each worker is a process with
# connections of its own, and workers beyond the CPUs only compete for them (and are warned of).
MAX_WORKERS = 32


class Source(Protocol):
    """What the replay reads: requests, and a count of the lines that were not requests."""

    format: str
    problem_count: int
    problems: list[Any]

    def __iter__(self) -> Iterator[ReplayRequest]: ...


@dataclass(frozen=True)
class ReplayOptions:
    user: str | None = None  # for every request; JSON lines may name their own
    host: str | None = None
    include_unsafe: bool = False
    limit: int | None = None  # requests replayed, at most
    sample: float | None = None  # fraction of the requests read, chosen with ``seed``
    seed: int = 0
    nplusone_threshold: int = 5
    workers: int = 1
    reservoir_size: int = RESERVOIR_SIZE
    capture_email: bool = True
    isolate_cache: bool = True
    group_by: GroupBy = "view"  # the rows: views, or each view's requests by template or path
    path_segments: int = 1  # of the path prefix, with group_by="path-prefix"

    def __post_init__(self) -> None:
        from django_profilecmds.exceptions import InvalidOption
        from django_profilecmds.spec import unknown_choice

        if self.group_by not in GROUP_BY:
            raise InvalidOption(unknown_choice("--group-by", self.group_by, GROUP_BY))
        segments = self.path_segments
        if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
            raise InvalidOption(f"--path-segments must be a positive integer, got {segments!r}.")

        if self.limit is not None and self.limit < 1:
            raise InvalidOption(f"--limit must be at least 1, got {self.limit}.")
        if self.sample is not None and not 0 < self.sample <= 1:
            raise InvalidOption(f"--sample is a fraction in (0, 1], got {self.sample}.")
        if self.workers < 1:
            raise InvalidOption(f"--workers must be at least 1, got {self.workers}.")
        if self.workers > MAX_WORKERS:
            raise InvalidOption(f"--workers must be at most {MAX_WORKERS}, got {self.workers}.")
        if self.nplusone_threshold < 2:
            raise InvalidOption(
                f"--nplusone-threshold must be at least 2, got {self.nplusone_threshold}."
            )
        if self.reservoir_size < 1:
            raise InvalidOption(
                f"The reservoir must hold at least 1 sample, not {self.reservoir_size}."
            )


Progress = Callable[[int], None]  # called with the number of requests read so far
