"""django-profilecmds: answer "why is this URL slow?" from the terminal.

The public API is imported lazily so that ``manage.py help`` never pays for the profilers.
"""

from __future__ import annotations

import json as _json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django_profilecmds.choices import DriverName, Profiler
    from django_profilecmds.result import RunResult

__all__ = ["profile_call", "profile_request"]

DataArg = Mapping[str, "str | Iterable[str]"] | Iterable[tuple[str, str]] | None


def profile_request(
    path: str,
    *,
    user: str | int | None = None,
    method: str = "GET",
    data: DataArg = None,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    host: str | None = None,
    secure: bool = False,
    enforce_csrf: bool = False,
    direct: bool = False,
    profiler: Profiler = "pyinstrument",
    interval: float = 0.001,
    repeat: int = 1,
    warmup: int = 0,
    commit: bool = False,
    capture_email: bool = True,
    isolate_cache: bool = False,
    nplusone_threshold: int = 5,
    explain: bool = False,
    explain_top: int = 3,
    explain_analyze: bool = False,
    max_queries: int | None = None,
    max_duplicates: int | None = None,
    max_db_time_ms: float | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    speedscope: bool = False,
) -> RunResult:
    """Profile one request through the full Django stack (or the view alone with ``direct``).

    Every run is rolled back and email is captured unless ``commit``/``capture_email`` say
    otherwise; files written through a storage are discarded, and statements that would
    escape the rollback are refused (``result.refused``, and ``result.failed`` is true).
    ``isolate_cache`` runs on private in-memory caches.
    SQL analysis (``result.sql``: groups, N+1 flags, EXPLAIN plans) is always done;
    exceeded budgets are listed in ``result.budget_failures``. Report files are written only
    when ``output_dir`` is given (``speedscope`` adds the samples in time order as speedscope
    JSON); their paths are in ``result.files``.
    Bad input raises :class:`django_profilecmds.exceptions.ProfileCmdsError`.
    """
    from django_profilecmds.analysis.budgets import Budgets
    from django_profilecmds.profiling import profile
    from django_profilecmds.runoptions import ProfilingOptions, RunOptions, SenderOptions, run_spec
    from django_profilecmds.spec import RequestSpec

    driver: DriverName = "direct" if direct else "full"
    spec = run_spec(
        request=RequestSpec(
            path=path,
            method=method.upper(),
            data=_pairs(data),
            json_body=json if json is None or isinstance(json, str) else _json.dumps(json),
            headers=tuple((headers or {}).items()),
            host=host,
            secure=secure,
            enforce_csrf=enforce_csrf,
        ),
        sender=SenderOptions(user=None if user is None else str(user), driver=driver),
        runs=RunOptions(
            repeat=repeat,
            warmup=warmup,
            commit=commit,
            capture_email=capture_email,
            isolate_cache=isolate_cache,
        ),
        profiling=ProfilingOptions(
            profiler=profiler,
            interval=interval,
            nplusone_threshold=nplusone_threshold,
            explain=explain,
            explain_top=explain_top,
            explain_analyze=explain_analyze,
            budgets=Budgets(max_queries, max_duplicates, max_db_time_ms),
        ),
    )
    return profile(spec, output_dir=output_dir, speedscope=speedscope)


def profile_call(
    dotted: str,
    *,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    input: str | None = None,
    profiler: Profiler = "pyinstrument",
    interval: float = 0.001,
    repeat: int = 1,
    warmup: int = 0,
    commit: bool = False,
    capture_email: bool = True,
    isolate_cache: bool = False,
    nplusone_threshold: int = 5,
    explain: bool = False,
    explain_top: int = 3,
    explain_analyze: bool = False,
    max_queries: int | None = None,
    max_duplicates: int | None = None,
    max_db_time_ms: float | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    speedscope: bool = False,
) -> RunResult:
    """Profile one call of the callable at ``dotted`` (sync or async), as ``profile_call`` does.

    It is called as ``dotted(*args, **kwargs)``, or with ``input`` (the dotted path of a
    zero-argument factory, called inside the sandbox) as ``dotted(input(), *args, **kwargs)``.
    ``args`` and ``kwargs`` are kept in ``result.spec`` and the reports: plain values (numbers,
    strings, lists, dicts) are best, and ``input`` builds anything else at run time.
    The other options are those of :func:`profile_request`: every run is rolled back and email
    is captured unless ``commit``/``capture_email`` say otherwise, and report files are written
    only when ``output_dir`` is given. ``result.response.reason`` summarises what the callable
    returned (``returned int``); an exception it raised is in ``result.errors`` and makes
    ``result.failed`` true.
    Bad input raises :class:`django_profilecmds.exceptions.ProfileCmdsError`.
    """
    from django_profilecmds.analysis.budgets import Budgets
    from django_profilecmds.profiling import profile
    from django_profilecmds.runoptions import ProfilingOptions, RunOptions, run_spec
    from django_profilecmds.spec import CallSpec

    spec = run_spec(
        call=CallSpec(dotted, tuple(args), tuple((kwargs or {}).items()), input=input),
        runs=RunOptions(
            repeat=repeat,
            warmup=warmup,
            commit=commit,
            capture_email=capture_email,
            isolate_cache=isolate_cache,
        ),
        profiling=ProfilingOptions(
            profiler=profiler,
            interval=interval,
            nplusone_threshold=nplusone_threshold,
            explain=explain,
            explain_top=explain_top,
            explain_analyze=explain_analyze,
            budgets=Budgets(max_queries, max_duplicates, max_db_time_ms),
        ),
    )
    return profile(spec, output_dir=output_dir, speedscope=speedscope)


def _pairs(data: DataArg) -> tuple[tuple[str, str], ...]:
    if data is None:
        return ()
    if isinstance(data, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, value in data.items():
            values = [value] if isinstance(value, str) else list(value)
            pairs.extend((str(key), str(item)) for item in values)
        return tuple(pairs)
    return tuple((str(k), str(v)) for k, v in data)
