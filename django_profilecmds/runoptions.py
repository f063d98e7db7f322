"""The options of a run in the groups that the commands and the Python API take them in, and the
one constructor of a :class:`~django_profilecmds.spec.RunSpec` from them.

Kept free of Django and profiler imports, like ``spec``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django_profilecmds.analysis.budgets import Budgets
from django_profilecmds.choices import DriverName, Profiler
from django_profilecmds.spec import (
    CallSpec,
    CommandSpec,
    RequestSpec,
    RunSpec,
)


@dataclass(frozen=True)
class SenderOptions:
    """Who sends the request, and through what: ``--user``, ``--direct`` or ``--asgi``."""

    user: str | None = None
    driver: DriverName = "full"


@dataclass(frozen=True)
class RunOptions:
    """How often the code runs and what of its effects stays: ``--repeat``, ``--warmup``,
    ``--commit``, ``--send-email`` and ``--isolate-cache``."""

    repeat: int = 1
    # None: one warm-up run, so that counts are a warm process's (a second request's), unless
    # the runs keep their effects (commit, real email) or run a management command: none.
    warmup: int | None = None
    commit: bool = False
    capture_email: bool = True
    isolate_cache: bool = True


@dataclass(frozen=True)
class ProfilingOptions:
    """How the run is observed: the profiler, the SQL analysis and the budgets."""

    profiler: Profiler = "pyinstrument"
    interval: float = 0.001
    nplusone_threshold: int = 5
    explain: bool = False  # implied by explain_analyze
    explain_top: int = 3
    explain_analyze: bool = False
    budgets: Budgets = field(default_factory=Budgets)


def run_spec(
    *,
    request: RequestSpec | None = None,
    call: CallSpec | None = None,
    command: CommandSpec | None = None,
    sender: SenderOptions | None = None,
    runs: RunOptions | None = None,
    profiling: ProfilingOptions | None = None,
    lines: tuple[str, ...] = (),
    inherited: bool = False,
) -> RunSpec:
    """The spec of one run of ``request``, ``call`` or ``command`` (exactly one), with the
    defaults of every group left out. Bad values raise
    :class:`~django_profilecmds.exceptions.InvalidOption`."""
    sender = sender or SenderOptions()
    runs = runs or RunOptions()
    profiling = profiling or ProfilingOptions()
    return RunSpec(
        request=request,
        call=call,
        command=command,
        user=sender.user,
        driver=sender.driver,
        profiler=profiling.profiler,
        interval=profiling.interval,
        repeat=runs.repeat,
        warmup=_warmup(runs, command is not None),
        commit=runs.commit,
        capture_email=runs.capture_email,
        isolate_cache=runs.isolate_cache,
        nplusone_threshold=profiling.nplusone_threshold,
        explain=profiling.explain or profiling.explain_analyze,
        explain_top=profiling.explain_top,
        explain_analyze=profiling.explain_analyze,
        budgets=profiling.budgets,
        lines=lines,
        inherited=inherited,
    )


def _warmup(runs: RunOptions, is_command: bool) -> int:
    """The warm-up runs: as given, else one, unless a second run would repeat effects that
    stay (``--commit``, ``--send-email``) or the code is a management command."""
    if runs.warmup is not None:
        return runs.warmup
    return 0 if runs.commit or not runs.capture_email or is_command else 1
