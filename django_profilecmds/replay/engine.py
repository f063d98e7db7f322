"""Replay recorded requests through the full Django stack, one at a time, and aggregate them.

Each recorded request becomes a :class:`RunSpec` (``replay_spec``) sent through the same
harness as ``profile_view``: a savepoint of one transaction per database that is rolled back at
the end, email captured, storages overlaid. Memory stays flat however long the log: each
request's queries are turned into a :class:`RequestSample` and dropped.

With ``workers`` > 1 the traffic is shared among forked processes (``workers.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from django_profilecmds.analysis.grouping import request_group
from django_profilecmds.analysis.replay import ReplayStats
from django_profilecmds.analysis.viewstats import RequestSample
from django_profilecmds.exceptions import ProfileCmdsError
from django_profilecmds.replay.options import MAX_WORKERS, Progress, ReplayOptions, Source
from django_profilecmds.replay.recorded import ReplayRequest
from django_profilecmds.replay.selection import RequestFilter, view_key

__all__ = [
    "MAX_WORKERS",
    "ReplayOptions",
    "RequestFilter",
    "check_replay_host",
    "replay",
    "replay_file",
    "replay_spec",
    "run_replay",
    "usable_cpus",
    "view_key",
]

if TYPE_CHECKING:
    from django.urls.resolvers import ResolverMatch

    from django_profilecmds.analysis.sql import NPlusOne
    from django_profilecmds.collectors.templates import TemplateCollector
    from django_profilecmds.drivers import Driver, Outcome
    from django_profilecmds.harness import Harness
    from django_profilecmds.spec import RunSpec


def replay(
    source: Source,
    options: ReplayOptions,
    progress: Progress | None = None,
    *,
    worker: int = 0,
    short_transactions: bool = False,
) -> ReplayStats:
    """Replay ``source`` and return the per-view aggregate (this worker's share of it).

    Raises :class:`~django_profilecmds.exceptions.ProfileCmdsError` for an unknown ``--user``
    or a Host that ALLOWED_HOSTS rejects.
    """
    return Replayer(options, worker, short_transactions).run(source, progress)


class Replayer:
    def __init__(self, options: ReplayOptions, worker: int, short_transactions: bool) -> None:
        from django_profilecmds.collectors import Collector, Observer
        from django_profilecmds.collectors.templates import TemplateCollector
        from django_profilecmds.collectors.timing import TimingCollector
        from django_profilecmds.harness import Harness

        self.options = options
        # One transaction per request instead of one for the whole replay: SQLite allows one
        # writer at a time, so parallel workers must not hold a write lock for long.
        self.harness = Harness.for_spec(
            replay_spec(ReplayRequest("GET", "/"), options),
            per_run_transactions=short_transactions,
        )
        self.queries = self.harness.queries
        self.timing = TimingCollector()
        collectors: list[Collector] = [self.queries, self.harness.caches]
        self.templates: TemplateCollector | None = None
        if options.group_by == "template":
            self.templates = TemplateCollector()
            collectors.append(self.templates)
        self.observer = Observer([*collectors, self.timing])  # the time innermost
        self.drivers: dict[bool, Driver] = {}
        self.unknown_users: set[str] = set()
        self.stats = ReplayStats(
            reservoir_size=options.reservoir_size,
            seed=options.seed,
            group_by=options.group_by,
            path_segments=options.path_segments,
        )
        self.filter = RequestFilter(options, self.stats, worker)

    @contextlib.contextmanager
    def session(self) -> Iterator[Harness]:
        """The harness entered for the whole replay (and the template backends wrapped when
        grouped by template), once the Host and ``--user`` are checked."""
        check_replay_host(self.options.host)
        # The backends' render is wrapped for the replay only (grouped by template).
        templates: contextlib.AbstractContextManager[object] = (
            self.templates if self.templates is not None else contextlib.nullcontext()
        )
        with self.harness as harness, templates:
            if self.options.user is not None:
                self._check_user(self.options.user)
            yield harness

    def replay_request(self, request: ReplayRequest) -> RequestSample | None:
        """Resolve and replay one request inside :meth:`session` (an A/B replay's worker sends
        them one at a time); None when no URL pattern matches or its user is unknown."""
        from urllib.parse import unquote, urlsplit

        from django_profilecmds.routing import match_path

        match = match_path(unquote(urlsplit(request.path).path))
        if match is None:
            return None
        refused = self.harness.sandbox.refused
        before = len(refused)
        sample = self._replay_one(request, match)
        if sample is not None and len(refused) > before:
            sample = dataclasses.replace(sample, error=True)
        del self.harness.outbox[:]
        return sample

    def run(self, source: Source, progress: Progress | None) -> ReplayStats:
        stats = self.stats
        with self.session() as harness:
            outbox = harness.outbox
            refused = harness.sandbox.refused
            for eligible in self.filter.requests(source, progress):
                before = len(refused)
                sample = self._replay_one(eligible.request, eligible.match)
                if len(refused) > before:
                    path = self.filter.masked_path(eligible.request.path, eligible.match)
                    stats.add_refused(path, [r.describe() for r in refused[before:]])
                    if sample is not None:
                        sample = dataclasses.replace(sample, error=True)
                if sample is not None:
                    stats.add(sample)
                stats.emails += len(outbox)
                del outbox[:]
            during = len(refused)
        report = harness.sandbox.report
        # Writes of threads that outlived their request, refused as the replay ended.
        stats.add_refused("", [r.describe() for r in report.refused[during:]])
        stats.warnings = list(report.warnings)
        if progress is not None:
            progress(self.filter.read)
        if self.filter.owns_totals:
            stats.read = self.filter.read
            stats.problem_count = source.problem_count
            stats.problems = [
                {"line": p.line, "text": self.filter.masked(p.text), "reason": p.reason}
                for p in source.problems[:5]
            ]
        return stats

    def _replay_one(self, request: ReplayRequest, match: ResolverMatch) -> RequestSample | None:
        from django_profilecmds.exceptions import UserNotFound

        spec = replay_spec(request, self.options)
        user = spec.user
        if user is not None and user in self.unknown_users:
            self.stats.unknown_users[user] = self.stats.unknown_users.get(user, 0) + 1
            return None
        try:
            outcome = self.harness.send(spec, self._driver(match), self.observer)
        except UserNotFound:
            assert user is not None
            self.unknown_users.add(user)
            self.stats.unknown_users[user] = self.stats.unknown_users.get(user, 0) + 1
            return None
        return self._sample(request, match, outcome)

    def _sample(
        self, request: ReplayRequest, match: ResolverMatch, outcome: Outcome
    ) -> RequestSample:
        from django_profilecmds.analysis.sql import analyse

        records = self.queries.queries
        flags = analyse(records, 1, self.options.nplusone_threshold).nplusone if records else []
        status = outcome.response.status_code if outcome.response is not None else None
        path = self.filter.masked_path(request.path, match)
        template = self.templates.first if self.templates is not None else None
        sample = RequestSample(
            view=view_key(match),
            function=match._func_path,
            method=request.method,
            path=path,
            wall=self.timing.wall[-1],
            cpu=self.timing.thread_cpu[-1],
            queries=len(records),
            db_time=sum(record.duration for record in records),
            status=status,
            nplusone=tuple(dict.fromkeys(_where(flag) for flag in flags)),
            error=outcome.error is not None or status is None or status >= 500,
            group=request_group(self.options.group_by, path, template, self.options.path_segments),
        )
        self.queries.clear()
        self.timing.clear()
        return sample

    def _driver(self, match: ResolverMatch) -> Driver:
        from django_profilecmds.drivers import view_is_async
        from django_profilecmds.drivers.fullstack import FullStackDriver

        is_async = view_is_async(match)
        driver = self.drivers.get(is_async)
        if driver is None:
            # The handler only needs to know which path (sync or async) to load middleware for.
            driver = self.drivers[is_async] = FullStackDriver(is_async)
        return driver

    def _check_user(self, user: str) -> None:
        """Fail before replaying anything when ``--user`` names nobody."""
        from django_profilecmds.users import describe_user, resolve_user

        self.stats.user = describe_user(resolve_user(user))


def replay_spec(request: ReplayRequest, options: ReplayOptions) -> RunSpec:
    """The spec of one recorded request: sent through the full stack as it was recorded
    (recorded cookies and Host are dropped by the sources), as its own user or ``--user``,
    with the replay's sandbox choices. Nothing is profiled but the SQL and the time."""
    from django_profilecmds.spec import RequestSpec, RunSpec

    return RunSpec(
        request=RequestSpec(
            path=request.path,
            method=request.method,
            headers=tuple(request.headers.items()),
            host=options.host,
            recorded=True,
            body=request.body,
        ),
        user=request.user if request.user is not None else options.user,
        profiler="none",
        capture_email=options.capture_email,
        isolate_cache=options.isolate_cache,
        nplusone_threshold=options.nplusone_threshold,
    )


def check_replay_host(host: str | None) -> None:
    """Fail before replaying anything when ALLOWED_HOSTS rejects the Host every request is
    sent with (recorded Host and X-Forwarded-Host headers are dropped): each one would be
    answered 400 by Django."""
    from django_profilecmds.request_builder import RequestBuilder
    from django_profilecmds.spec import RequestSpec

    RequestBuilder(RequestSpec("/", host=host)).check_host()


def _where(flag: NPlusOne) -> str:
    """An N+1's origin, with the template line of the loop when a template ran it, or the
    library loop when no project frame did."""
    origin = str(flag.origin)
    if not flag.stack and flag.library:
        origin = f"{flag.library_loop or flag.library[0]} (library)"
    if flag.template:
        return f"{origin}, template {flag.loop or flag.template}"
    return origin


def usable_cpus() -> int:
    """The CPUs this process may run on (a container or ``taskset`` may allow fewer)."""
    from django_profilecmds.analysis.conditions import usable_cpu_count

    return usable_cpu_count() or os.cpu_count() or 1


def run_replay(
    open_source: Callable[[], Source], options: ReplayOptions, progress: Progress | None = None
) -> ReplayStats:
    """Replay in this process, or in ``options.workers`` processes, noting the machine's
    conditions (load averages at the start and the end) in ``stats.conditions``."""
    from django_profilecmds.analysis.conditions import load_average, machine_conditions

    load_start = load_average()
    stats = _replay_here_or_in_workers(open_source, options, progress)
    stats.conditions = machine_conditions(load_start, load_average())
    return stats


def _replay_here_or_in_workers(
    open_source: Callable[[], Source], options: ReplayOptions, progress: Progress | None
) -> ReplayStats:
    if options.workers == 1:
        return replay(open_source(), options, progress)
    from django_profilecmds.replay.workers import replay_in_workers

    check_replay_host(options.host)  # clear errors before any process starts
    if options.user is not None:
        from django_profilecmds.users import resolve_user

        resolve_user(options.user)
    stats = replay_in_workers(replay, open_source, options, progress)
    cpus = usable_cpus()
    if options.workers > cpus:
        stats.warnings.append(
            f"{options.workers} workers shared {cpus} CPU{'s' if cpus > 1 else ''}: they "
            "waited for each other, so the times are longer than one request alone takes."
        )
    return stats


def replay_file(
    path: str | os.PathLike[str],
    options: ReplayOptions,
    format: str | None = None,
    progress: Progress | None = None,
) -> ReplayStats:
    """Replay the requests recorded in the file at ``path`` (format detected from its content
    unless given). Bad files raise :class:`~django_profilecmds.exceptions.ProfileCmdsError`."""
    from pathlib import Path

    from django_profilecmds.replay.sources import open_source

    source_path = Path(path)
    source = open_source(source_path, format)
    if options.workers > 1 and not source.rereadable:
        raise ProfileCmdsError(
            f"--workers needs a file that each worker reads for itself, and {source_path} is a "
            "pipe or a device, which can be read only once: save it to a file first."
        )
    # Each worker iterates its own copy, which opens the file again (HAR entries are loaded).
    return run_replay(lambda: source, options, progress)
