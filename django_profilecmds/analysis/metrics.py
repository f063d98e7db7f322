"""Which time a verdict is taken on: wall time, or the CPU time of the thread that ran the
request.

Wall time counts every wait: for the CPU when other processes load the machine, for the disk,
for a database server. On a busy machine it moves by tens of percent between two runs of the
same code, which a test of many samples calls significant. The thread's CPU time is what the
project's code cost, whatever else runs. SQLite runs inside that thread, so its queries are
CPU time too (the project's own work). A database server's work is in its own process, on this
machine or another: the thread only waits for it, so its CPU time leaves the queries out, and
a query that got slower would be no change to it. The default is therefore CPU time when every
database is SQLite, and wall time when one is a server (its queries' durations are in the
database column either way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django_profilecmds.exceptions import InvalidOption

WALL = "wall"
CPU = "cpu"
METRICS = (WALL, CPU)
# The samples a saved file holds per key, by metric (database time is shown, never a verdict).
SAMPLE_FIELDS = {WALL: "samples", CPU: "cpu_samples", "db": "db_samples"}
METRIC_NAMES = {WALL: "wall time", CPU: "CPU time", "db": "database time"}
LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})
SQLITE_REASON = (
    "every database is SQLite, whose queries run in this thread; --metric wall to use wall time"
)


@dataclass(frozen=True)
class MetricChoice:
    """The metric of a verdict and why it was chosen."""

    metric: str
    reason: str

    def describe(self) -> str:
        """``verdict on CPU time (every database is SQLite, whose queries run in this thread;
        --metric wall to use wall time)``."""
        return f"verdict on {METRIC_NAMES[self.metric]} ({self.reason})"


def server_databases(databases: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    """The aliases of ``databases`` (default: ``settings.DATABASES``) that are not SQLite."""
    if databases is None:
        from django.conf import settings

        databases = settings.DATABASES
    return [
        alias
        for alias, settings_dict in databases.items()
        if "sqlite" not in str(settings_dict.get("ENGINE", ""))
    ]


def remote_databases(databases: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    """The aliases of ``databases`` (default: ``settings.DATABASES``) that are on another
    machine: not SQLite, and a host other than none, localhost, 127.0.0.1, ::1 or a unix
    socket's path (``HOST``, else psycopg's ``OPTIONS["host"]``)."""
    if databases is None:
        from django.conf import settings

        databases = settings.DATABASES
    remote = []
    for alias in server_databases(databases):
        settings_dict = databases[alias]
        host = str(settings_dict.get("HOST") or "")
        if not host:
            options: Any = settings_dict.get("OPTIONS") or {}
            host = str(options.get("host") or "")
        if host not in LOCAL_HOSTS and not host.startswith("/"):
            remote.append(alias)
    return remote


def choose_metric(
    requested: str | None,
    baseline: dict[str, Any] | None = None,
    databases: Mapping[str, Mapping[str, Any]] | None = None,
) -> MetricChoice:
    """The metric ``--metric`` asked for, else the default (see the module's docstring) for
    ``databases`` (default: ``settings.DATABASES``).

    A baseline saved before CPU times were kept has wall times only: the default is then wall
    time, and asking for CPU time raises :class:`InvalidOption`.
    """
    if requested is not None and requested not in METRICS:
        from django_profilecmds.spec import unknown_choice

        raise InvalidOption(unknown_choice("--metric", requested, METRICS))
    missing = baseline is not None and CPU in missing_metrics(baseline)
    if requested == CPU and missing:
        raise InvalidOption(
            "--metric cpu: the baseline holds wall times only (it was saved by an earlier "
            "version); pass --metric wall, or save a new baseline."
        )
    if requested is not None:
        return MetricChoice(requested, "as --metric asked")
    if missing:
        return MetricChoice(WALL, "the baseline holds wall times only")
    remote = remote_databases(databases)
    if remote:
        aliases = ", ".join(repr(alias) for alias in remote)
        return MetricChoice(
            WALL, f"database {aliases} is remote; --metric cpu to use the thread's CPU time"
        )
    servers = server_databases(databases)
    if servers:
        aliases = ", ".join(repr(alias) for alias in servers)
        return MetricChoice(
            WALL,
            f"database {aliases} runs in a server process of its own, whose work the "
            "thread's CPU time leaves out; --metric cpu to use it anyway",
        )
    return MetricChoice(CPU, SQLITE_REASON)


def missing_metrics(document: dict[str, Any]) -> list[str]:
    """The metrics (``cpu``, ``db``) that a saved file lacks for some key: files saved before
    they were recorded have wall times only."""
    entries = document.get("entries") or {}
    return [
        metric
        for metric in ("cpu", "db")
        if any(SAMPLE_FIELDS[metric] not in entry for entry in entries.values())
    ]
