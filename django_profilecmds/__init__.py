"""django-profilecmds: answer "why is this URL slow?" from the terminal.

The public API is imported lazily so that ``manage.py help`` never pays for the profilers.
"""

from __future__ import annotations

import json as _json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from django_profilecmds.choices import DriverName, Profiler
    from django_profilecmds.result import RunResult
    from django_profilecmds.runoptions import SenderOptions
    from django_profilecmds.spec import CallSpec, RequestSpec

__all__ = ["analyse_traffic", "profile_call", "profile_request"]

DataArg = Mapping[str, "str | Iterable[str]"] | Iterable[tuple[str, str]] | None


class RunKeywords(TypedDict, total=False):
    """What :func:`profile_request` and :func:`profile_call` both take, with the commands'
    defaults: ``profiler="pyinstrument"``, ``interval=0.001``, ``repeat=1``, ``warmup=1``
    (0 with ``commit=True`` or ``capture_email=False``), ``commit=False``,
    ``capture_email=True``, ``isolate_cache=True``,
    ``nplusone_threshold=5``, ``explain=False``, ``explain_top=3``, ``explain_analyze=False``,
    no budgets, no ``output_dir`` and ``speedscope=False``."""

    profiler: Profiler
    interval: float
    repeat: int
    warmup: int
    commit: bool
    capture_email: bool
    isolate_cache: bool
    nplusone_threshold: int
    explain: bool
    explain_top: int
    explain_analyze: bool
    max_queries: int | None
    max_duplicates: int | None
    max_db_time_ms: float | None
    output_dir: str | os.PathLike[str] | None
    speedscope: bool


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
    asgi: bool = False,
    **options: Unpack[RunKeywords],
) -> RunResult:
    """Profile one request through the full Django stack (or the view alone with ``direct``,
    or through the ASGI handler with ``asgi``).

    Every run is rolled back and email is captured unless ``commit``/``capture_email`` say
    otherwise; files written through a storage are discarded, and statements that would
    escape the rollback are refused (``result.refused``, and ``result.failed`` is true).
    ``isolate_cache`` runs on private in-memory caches.
    SQL analysis (``result.sql``: groups, N+1 flags, EXPLAIN plans) is always done;
    exceeded budgets (``max_queries``, ``max_duplicates``, ``max_db_time_ms``) are listed in
    ``result.budget_failures``. Report files are written only when ``output_dir`` is given
    (``speedscope`` adds the samples in time order as speedscope JSON); their paths are in
    ``result.files``. The other options are :class:`RunKeywords`.
    Bad input raises :class:`django_profilecmds.exceptions.ProfileCmdsError`.
    """
    from django_profilecmds.runoptions import SenderOptions
    from django_profilecmds.spec import RequestSpec

    if direct and asgi:
        from django_profilecmds.exceptions import ProfileCmdsError

        raise ProfileCmdsError("direct and asgi exclude each other: the view alone, or ASGI.")
    driver: DriverName = "direct" if direct else "asgi" if asgi else "full"
    request = RequestSpec(
        path=path,
        method=method.upper(),
        data=_pairs(data),
        json_body=json if json is None or isinstance(json, str) else _json.dumps(json),
        headers=tuple((headers or {}).items()),
        host=host,
        secure=secure,
        enforce_csrf=enforce_csrf,
    )
    sender = SenderOptions(user=None if user is None else str(user), driver=driver)
    return _profile(options, request=request, sender=sender)


def profile_call(
    dotted: str,
    *,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    input: str | None = None,
    **options: Unpack[RunKeywords],
) -> RunResult:
    """Profile one call of the callable at ``dotted`` (sync or async), as ``profile_call`` does.

    It is called as ``dotted(*args, **kwargs)``, or with ``input`` (the dotted path of a
    zero-argument factory, called inside the sandbox) as ``dotted(input(), *args, **kwargs)``.
    ``args`` and ``kwargs`` are kept in ``result.spec`` and the reports: plain values (numbers,
    strings, lists, dicts) are best, and ``input`` builds anything else at run time.
    The other options are those of :func:`profile_request` (:class:`RunKeywords`): every run
    is rolled back and email is captured unless ``commit``/``capture_email`` say otherwise, and
    report files are written only when ``output_dir`` is given. ``result.response.reason``
    summarises what the callable returned (``returned int``); an exception it raised is in
    ``result.errors`` and makes ``result.failed`` true.
    Bad input raises :class:`django_profilecmds.exceptions.ProfileCmdsError`.
    """
    from django_profilecmds.spec import CallSpec

    call = CallSpec(dotted, tuple(args), tuple((kwargs or {}).items()), input=input)
    return _profile(options, call=call)


def analyse_traffic(paths: Sequence[str | os.PathLike[str]], **options: Any) -> Any:
    """Which layer, view or view's traffic moves with the response time in these logs: the
    analysis ``manage.py profile_traffic`` prints, as a
    :class:`~django_profilecmds.traffic.analysis.TrafficAnalysis` (``to_dict()`` for plain
    data). No request is sent. Keywords: ``format``, ``window`` (seconds or ``"1m"``),
    ``alpha``, ``min_windows``, ``time_field``, ``duration_field``, ``duration_unit``,
    ``layer_fields``, ``progress``; see :func:`django_profilecmds.traffic.run.analyse_traffic`.
    """
    from django_profilecmds.traffic.run import analyse_traffic as analyse

    return analyse(paths, **options)


def _profile(
    options: RunKeywords,
    *,
    request: RequestSpec | None = None,
    call: CallSpec | None = None,
    sender: SenderOptions | None = None,
) -> RunResult:
    """Run the spec that ``options`` and the request or call make, as the commands do."""
    unknown = sorted(set(options) - RunKeywords.__optional_keys__)
    if unknown:  # what a signature without **options would say
        caller = "profile_request" if request is not None else "profile_call"
        raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
    from django_profilecmds.analysis.budgets import Budgets
    from django_profilecmds.profiling import profile
    from django_profilecmds.runoptions import ProfilingOptions, RunOptions, run_spec

    budgets = Budgets(
        options.get("max_queries"), options.get("max_duplicates"), options.get("max_db_time_ms")
    )
    runs = RunOptions(**_given(options, RunOptions))
    profiling = ProfilingOptions(budgets=budgets, **_given(options, ProfilingOptions))
    output_dir, speedscope = options.get("output_dir"), options.get("speedscope", False)
    spec = run_spec(request=request, call=call, sender=sender, runs=runs, profiling=profiling)
    return profile(spec, output_dir=output_dir, speedscope=speedscope)


def _given(options: RunKeywords, group: type[Any]) -> dict[str, Any]:
    """The options that are fields of the dataclass ``group`` (``RunOptions`` and the like)."""
    import dataclasses

    names = {field.name for field in dataclasses.fields(group)}
    return {name: value for name, value in options.items() if name in names}


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
