"""Replay recorded requests through the full Django stack, one at a time, and aggregate them.

Every request runs in a savepoint of one transaction per database that is rolled back at the
end, with email captured: the same safety as ``profile_view``. Memory stays flat however long
the log: each request's queries are turned into a :class:`RequestSample` and dropped.

With ``workers`` > 1 the traffic is shared among forked processes. Each one reads the whole
source, makes the same sampling and limit decisions (same seed, same order) and replays every
``workers``-th eligible request, so the merged aggregate counts exactly what one process would.
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from django_profilecmds.analysis.replay import ReplayStats
from django_profilecmds.analysis.reservoir import RESERVOIR_SIZE
from django_profilecmds.analysis.viewstats import RequestSample
from django_profilecmds.exceptions import ProfileCmdsError

SAFE_METHODS = frozenset({"GET", "HEAD"})
PROGRESS_EVERY = 0.2  # seconds between progress reports
# A fixed cap, so that a command works alike on every machine: each worker is a process with
# connections of its own, and workers beyond the CPUs only compete for them (and are warned of).
MAX_WORKERS = 32
PARENT_POLL = 0.5  # seconds between a worker's checks that the replay's process is alive
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class Source(Protocol):
    """What the replay reads: requests, and a count of the lines that were not requests."""

    format: str
    problem_count: int
    problems: list[Any]

    def __iter__(self) -> Iterator[Any]: ...


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
    isolate_cache: bool = False

    def __post_init__(self) -> None:
        from django_profilecmds.exceptions import InvalidOption

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


@dataclass
class Eligible:
    """A request the replay sends, with the view it reaches."""

    request: Any
    match: Any


class RequestFilter:
    """Which requests of a source a replay sends: sampling, methods, resolution, ``--limit``,
    and this worker's share. Counts what it leaves out in ``stats`` (worker 0 only, so that
    merged counts are exact). The Locust export uses the same filter."""

    def __init__(self, options: ReplayOptions, stats: ReplayStats, worker: int = 0) -> None:
        from django_profilecmds.reports.redact import Redactor

        self.options = options
        self.stats = stats
        self.worker = worker
        self.read = 0
        # Paths and raw lines are printed and saved: values of tokens in them are masked.
        self.redactor = Redactor()

    @property
    def owns_totals(self) -> bool:
        return self.worker == 0

    def masked_path(self, path: str, match: Any) -> str:
        """A recorded path as shown and saved: what its URL pattern captured under a sensitive
        name (a reset link's ``<token>``) masked too."""
        from django_profilecmds.reports.redact import MASK
        from django_profilecmds.reports.runredaction import route_secrets

        for value in route_secrets(match.kwargs if match is not None else {}):
            if value:
                path = path.replace(value, MASK)
        return self.masked(path)

    def masked(self, text: str) -> str:
        return self.redactor.text(text)

    def requests(self, source: Source, progress: Progress | None = None) -> Iterator[Eligible]:
        options = self.options
        stats = self.stats
        chooser = random.Random(options.seed)
        eligible = 0
        next_report = time.monotonic() + PROGRESS_EVERY
        for request in source:
            self.read += 1
            if progress is not None and self.read % 64 == 0 and time.monotonic() >= next_report:
                progress(self.read)
                next_report = time.monotonic() + PROGRESS_EVERY
            if options.sample is not None and chooser.random() >= options.sample:
                stats.sampled_out += self.owns_totals
                continue
            if request.method not in SAFE_METHODS and not options.include_unsafe:
                if self.owns_totals:
                    stats.skip_method(request.method)
                continue
            match = _resolve(unquote(urlsplit(request.path).path))
            if match is None:
                if self.owns_totals:
                    stats.add_not_found(self.masked(request.path))
                continue
            if options.limit is not None and eligible >= options.limit:
                break
            eligible += 1
            if (eligible - 1) % options.workers == self.worker:
                yield Eligible(request, match)


class Replayer:
    def __init__(self, options: ReplayOptions, worker: int, short_transactions: bool) -> None:
        from django_profilecmds.collectors import Observer
        from django_profilecmds.collectors.timing import TimingCollector
        from django_profilecmds.harness import Harness
        from django_profilecmds.sandbox import SandboxOptions

        self.options = options
        # One transaction per request instead of one for the whole replay: SQLite allows one
        # writer at a time, so parallel workers must not hold a write lock for long.
        self.harness = Harness(
            SandboxOptions(
                capture_email=options.capture_email,
                isolate_cache=options.isolate_cache,
                per_run_transactions=short_transactions,
            )
        )
        self.queries = self.harness.queries
        self.timing = TimingCollector()
        self.observer = Observer([self.queries, self.harness.caches, self.timing])
        self.drivers: dict[bool, Any] = {}
        self.unknown_users: set[str] = set()
        self.stats = ReplayStats(reservoir_size=options.reservoir_size, seed=options.seed)
        self.filter = RequestFilter(options, self.stats, worker)

    def run(self, source: Source, progress: Progress | None) -> ReplayStats:
        stats = self.stats
        check_replay_host(self.options.host)
        with self.harness as harness:
            if self.options.user is not None:
                self._check_user(self.options.user)
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

    def _replay_one(self, request: Any, match: Any) -> RequestSample | None:
        from django_profilecmds.exceptions import UserNotFound

        user = request.user if request.user is not None else self.options.user
        if user is not None and user in self.unknown_users:
            self.stats.unknown_users[user] = self.stats.unknown_users.get(user, 0) + 1
            return None
        driver = self._driver(match)

        def execute(identity: Any) -> Any:
            built = build_request(request, identity, self.options.host)
            return driver.execute(built, self.observer)

        try:
            outcome = self.harness.run_once(execute, user)
        except UserNotFound:
            assert user is not None
            self.unknown_users.add(user)
            self.stats.unknown_users[user] = self.stats.unknown_users.get(user, 0) + 1
            return None
        return self._sample(request, match, outcome)

    def _sample(self, request: Any, match: Any, outcome: Any) -> RequestSample:
        from django_profilecmds.analysis.sql import analyse

        records = self.queries.queries
        flags = analyse(records, 1, self.options.nplusone_threshold).nplusone if records else []
        status = outcome.response.status_code if outcome.response is not None else None
        sample = RequestSample(
            view=view_key(match),
            function=match._func_path,
            method=request.method,
            path=self.filter.masked_path(request.path, match),
            wall=self.timing.wall[-1],
            queries=len(records),
            db_time=sum(record.duration for record in records),
            status=status,
            nplusone=tuple(dict.fromkeys(_where(flag) for flag in flags)),
            error=outcome.error is not None or status is None or status >= 500,
        )
        self.queries.clear()
        self.timing.wall.clear()
        self.timing.cpu.clear()
        return sample

    def _driver(self, match: Any) -> Any:
        from django_profilecmds.drivers import FullStackDriver, view_is_async

        is_async = view_is_async(match)
        driver = self.drivers.get(is_async)
        if driver is None:
            # The handler only needs to know which path (sync or async) to load middleware for.
            driver = self.drivers[is_async] = FullStackDriver(match)
        return driver

    def _check_user(self, user: str) -> None:
        """Fail before replaying anything when ``--user`` names nobody."""
        from django_profilecmds.users import describe_user, resolve_user

        self.stats.user = describe_user(resolve_user(user))


def check_replay_host(host: str | None) -> None:
    """Fail before replaying anything when ALLOWED_HOSTS rejects the Host every request is
    sent with (recorded Host and X-Forwarded-Host headers are dropped): each one would be
    answered 400 by Django."""
    from django_profilecmds.replay.recorded import ReplayRequest
    from django_profilecmds.request_builder import check_host, default_host

    check_host(build_request(ReplayRequest("GET", "/"), None, host), host or default_host())


def build_request(request: Any, identity: Any, host: str | None) -> Any:
    """A Django request for a recorded one, logged in as ``identity``."""
    from django.http.request import HttpHeaders

    from django_profilecmds.request_builder import default_host

    headers = {name.title(): value for name, value in request.headers.items()}
    headers["Host"] = host or default_host()
    if identity is not None and identity.session_cookie:
        headers["Cookie"] = f"{identity.session_cookie}={identity.session_key}"
    content_type = headers.pop("Content-Type", "application/octet-stream")
    meta: dict[str, Any] = dict(HttpHeaders.to_wsgi_names(headers))
    path, _, query = request.path.partition("?")
    meta["QUERY_STRING"] = query
    # The factory percent-decodes the path itself, as a server would.
    built = _factory().generic(
        request.method, path, request.body or "", content_type=content_type, **meta
    )
    built._dont_enforce_csrf_checks = True
    return built


@lru_cache(maxsize=1)
def _factory() -> Any:
    from django.test.client import RequestFactory

    return RequestFactory()


def _resolve(path: str) -> Any:
    """The resolver match of ``path``, or None when no pattern matches (cached: logs repeat)."""
    from django.conf import settings
    from django.urls import get_urlconf

    return _resolve_in(path, get_urlconf() or settings.ROOT_URLCONF)


@lru_cache(maxsize=4096)
def _resolve_in(path: str, urlconf: str) -> Any:
    from django.conf import settings
    from django.urls import get_resolver
    from django.urls.exceptions import Resolver404
    from django.utils import translation

    language = translation.get_language_from_path(path) if settings.USE_I18N else None
    with translation.override(language or translation.get_language()):
        try:
            return get_resolver(urlconf).resolve(path)
        except Resolver404:
            return None


def _where(flag: Any) -> str:
    """An N+1's origin, with the template line of the loop when a template ran it."""
    if flag.template:
        return f"{flag.origin}, template {flag.loop or flag.template}"
    return str(flag.origin)


def view_key(match: Any) -> str:
    """The URL name (with its namespaces) when the pattern has one, else the view's path."""
    return str(match.view_name if match.url_name else match._func_path)


def replay_in_workers(
    open_source: Callable[[], Source],
    options: ReplayOptions,
    progress: Progress | None = None,
) -> ReplayStats:
    """Replay in ``options.workers`` forked processes and merge their aggregates."""
    import multiprocessing

    from django.db import connections

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        raise ProfileCmdsError(
            "--workers needs processes started by fork (Linux, macOS); run without it."
        ) from None
    for alias in connections:
        settings_dict = connections[alias].settings_dict
        if connections[alias].vendor == "sqlite" and _in_memory(settings_dict["NAME"]):
            raise ProfileCmdsError(
                f"--workers cannot share the in-memory SQLite database {alias!r} between "
                "processes; use a database file or a server."
            )
    short = any(connections[alias].vendor == "sqlite" for alias in connections)
    check_replay_host(options.host)  # clear errors before any process starts
    if options.user is not None:
        from django_profilecmds.users import resolve_user

        resolve_user(options.user)
    # Children must open their own connections, never share the parent's sockets or files.
    connections.close_all()
    read = context.Value("q", 0, lock=False)
    results = context.SimpleQueue()
    parent = os.getpid()
    processes = [
        context.Process(
            target=_worker,
            args=(open_source, options, index, short, read, results, parent),
            daemon=True,
        )
        for index in range(options.workers)
    ]
    for process in processes:
        process.start()
    merged: ReplayStats | None = None
    failure = None
    try:
        for _ in processes:
            while results.empty():
                if progress is not None:
                    progress(read.value)
                if not any(process.is_alive() for process in processes) and results.empty():
                    raise ProfileCmdsError("A replay worker died without reporting.")
                time.sleep(PROGRESS_EVERY)
            kind, payload = results.get()
            if kind == "error":
                failure = failure or payload
                continue
            if merged is None:
                merged = payload
            else:
                merged.merge(payload)
    except BaseException:
        # Ctrl-C or a failure: stop the workers now rather than wait for their requests. A
        # worker ended mid-transaction commits nothing (the database rolls its work back).
        for process in processes:
            process.terminate()
        raise
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
    if failure is not None:
        raise ProfileCmdsError(failure)
    assert merged is not None
    cpus = usable_cpus()
    if options.workers > cpus:
        merged.warnings.append(
            f"{options.workers} workers shared {cpus} CPU{'s' if cpus > 1 else ''}: they "
            "waited for each other, so the times are longer than one request alone takes."
        )
    if progress is not None:
        progress(read.value)
    return merged


def usable_cpus() -> int:
    """The CPUs this process may run on (a container or ``taskset`` may allow fewer)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS has no sched_getaffinity
        return os.cpu_count() or 1


def _worker(
    open_source: Callable[[], Source],
    options: ReplayOptions,
    index: int,
    short: bool,
    read: Any,
    results: Any,
    parent: int,
) -> None:
    _end_with(parent)
    try:

        def report(count: int) -> None:
            if index == 0:
                read.value = count

        stats = replay(open_source(), options, report, worker=index, short_transactions=short)
        results.put(("stats", stats))
    except ProfileCmdsError as exc:
        results.put(("error", str(exc)))
    except BaseException:
        results.put(("error", f"A replay worker failed:\n{traceback.format_exc()}"))
    finally:
        from django.db import connections

        connections.close_all()


def _end_with(parent: int) -> None:
    """End this worker as soon as the replay's process ``parent`` ends, even killed by SIGKILL:
    a worker left behind would replay on for minutes, holding connections and database files.
    Nothing of a worker needs cleaning up: its transactions roll back as its connections drop.
    """
    import threading

    if sys.platform.startswith("linux"):
        # SIGKILL when the thread that forked this worker ends; that thread waits in
        # replay_in_workers until every worker has reported, so it ends with the process.
        import contextlib
        import ctypes

        with contextlib.suppress(OSError, AttributeError):  # no prctl: the thread still watches
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # Elsewhere, and if the parent ended before the call above: an orphan gets a new parent.
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    os._exit(1)


def _in_memory(name: Any) -> bool:
    text = str(name)
    return text == ":memory:" or "mode=memory" in text or text == ""


def run_replay(
    open_source: Callable[[], Source], options: ReplayOptions, progress: Progress | None = None
) -> ReplayStats:
    """Replay in this process, or in ``options.workers`` processes."""
    if options.workers > 1:
        return replay_in_workers(open_source, options, progress)
    return replay(open_source(), options, progress)


def replay_file(
    path: Any,
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
