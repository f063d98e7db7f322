"""``run(spec) -> RunResult``: the one pipeline every command goes through."""

from __future__ import annotations

import dataclasses
import os
import platform
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from django_profilecmds.analysis.budgets import check_budgets
from django_profilecmds.analysis.sql import analyse
from django_profilecmds.analysis.stats import summarise
from django_profilecmds.collectors import NULL_OBSERVER, Collector, Observer
from django_profilecmds.collectors.sql import QueryCollector
from django_profilecmds.collectors.timing import TimingCollector
from django_profilecmds.drivers import (
    HARNESS_FILES,
    CallDriver,
    CommandDriver,
    Driver,
    Outcome,
    make_driver,
)
from django_profilecmds.exceptions import ProfileCmdsError
from django_profilecmds.harness import Harness
from django_profilecmds.request_builder import RequestBuilder
from django_profilecmds.result import EmailSummary, ResponseSummary, RunResult, RunTiming
from django_profilecmds.routing import resolve_path
from django_profilecmds.sandbox import SandboxOptions
from django_profilecmds.spec import RunSpec
from django_profilecmds.targets import TargetError, import_dotted, resolve_target
from django_profilecmds.users import Identity


def run(spec: RunSpec) -> RunResult:
    """Send ``spec``'s request ``warmup + repeat`` times inside the sandbox, observing the
    counted runs. Raises :class:`~django_profilecmds.exceptions.ProfileCmdsError` on bad input.
    """
    created = datetime.now().isoformat(timespec="milliseconds")
    match = resolve_path(unquote(urlsplit(spec.request.path).path)) if spec.request else None
    targets = [resolve_target(path, spec.inherited) for path in spec.lines]
    line_functions = list(dict.fromkeys(f for target in targets for f in target.functions))
    call = _resolve_call(spec) if spec.call else None
    timing = TimingCollector()
    queries = QueryCollector(HARNESS_FILES)
    collectors: list[Collector] = []
    calltree = functions = None
    if spec.profiler == "pyinstrument":
        from django_profilecmds.collectors.calltree import CallTreeCollector

        # The title without the query string, whose values may be secrets.
        calltree = CallTreeCollector(spec.interval, spec.title.split("?", 1)[0])
        collectors.append(calltree)
    elif spec.profiler == "cprofile":
        from django_profilecmds.collectors.functions import FunctionStatsCollector

        functions = FunctionStatsCollector()
        collectors.append(functions)
    lines = None
    if line_functions:
        from django_profilecmds.collectors.lines import LineCollector

        lines = LineCollector(line_functions)
        queries.line_codes = lines.codes
        collectors.append(lines)
    outcomes: list[Outcome] = []
    test_databases = spec.command is not None and spec.command.runs_tests
    harness = Harness(
        SandboxOptions(
            commit=spec.commit,
            capture_email=spec.capture_email,
            isolate_cache=spec.isolate_cache,
            test_databases=test_databases,
        ),
        queries,
    )
    # Timing innermost, so profiler start/stop is not part of the measured time.
    observer = Observer([*collectors, queries, harness.caches, timing])
    with harness:
        identity = _identity(spec, harness) if spec.user is not None else None
        driver, build = _driver(spec, match, identity, call)
        warmup_errors: list[str] = []
        emails_before = 0
        for index in range(spec.warmup + spec.repeat):
            counted = index >= spec.warmup
            if index == spec.warmup:
                emails_before = len(harness.outbox)
            watching = observer if counted else NULL_OBSERVER

            def execute(_identity: Identity | None, watching: Observer = watching) -> Outcome:
                return driver.execute(build(), watching)

            outcome = harness.run_once(execute)
            if counted:
                outcomes.append(outcome)
            elif outcome.error:
                warmup_errors.append(outcome.error)
        emails = [_email_summary(message) for message in harness.outbox[emails_before:]]
        explains: list[Any] = []
        if spec.explain:
            from django_profilecmds.analysis.explain import explain_queries

            # Still inside the sandbox: EXPLAIN ANALYZE's effects are rolled back too.
            explains = explain_queries(queries.queries, spec.explain_top, spec.explain_analyze)
    box = harness.sandbox.report

    runs = []
    for index, outcome in enumerate(outcomes):
        run_queries = queries.for_run(index)
        runs.append(
            RunTiming(
                wall=timing.wall[index],
                cpu=timing.cpu[index],
                queries=len(run_queries),
                db_time=sum(q.duration for q in run_queries),
                status=_status(outcome),
            )
        )
    errors = list(dict.fromkeys(o.error for o in outcomes if o.error)) or warmup_errors[:1]
    warnings = list(box.warnings)
    if identity is not None and not getattr(identity.user, "is_active", True):
        warnings.append(
            f"User {identity.description} is inactive: most authentication backends treat "
            "the request as anonymous."
        )
    if spec.commit:
        warnings.append("--commit: the changes made by the view were kept in the database.")
    sql = analyse(queries.queries, len(runs), spec.nplusone_threshold)
    sql.explains = [dataclasses.asdict(explain) for explain in explains]
    result = RunResult(
        spec=spec,
        driver=driver.description,
        view=match._func_path if match else spec.title.split(" ", 1)[1],
        user=identity.description if identity else None,
        runs=runs,
        wall=summarise(timing.wall),
        cpu=summarise(timing.cpu),
        response=_response_summary(outcomes[-1]),
        queries=queries.queries,
        emails=emails,
        refused=[refusal.describe() for refusal in box.refused],
        files_written=box.files_written,
        files_deleted=box.files_deleted,
        test_databases=test_databases,
        caches=[dataclasses.asdict(stats) for stats in harness.caches.totals()],
        environment=environment(),
        errors=errors,
        warnings=warnings,
        calltree=calltree.session if calltree else None,
        function_stats=_pstats(functions.profile) if functions and functions.used else None,
        secrets=[identity.session_key] if identity and identity.session_key else [],
        sql=sql,
        output=outcomes[-1].output,
        created=created,
        targets=[
            {"path": t.path, "kind": t.kind, "functions": len(t.functions), "notes": t.notes}
            for t in targets
        ],
    )
    if lines is not None:
        from django_profilecmds.analysis.lines import build_line_report

        result.line_stats = lines.stats()
        result.lines = build_line_report(result.line_stats, line_functions, queries.queries)
    if spec.budgets.any:
        result.budget_failures = check_budgets(
            spec.budgets,
            queries=result.query_count,
            duplicates=round(sql.per_run(sql.duplicates)),
            db_time_ms=result.db_time * 1000,
        )
    from django_profilecmds.reports.runredaction import route_secrets, run_secrets

    result.secrets = run_secrets(result)
    if match is not None:  # a password-reset link's <token> is part of the path itself
        result.secrets += route_secrets(match.kwargs)
    return result


def _driver(
    spec: RunSpec, match: Any, identity: Identity | None, call: Any
) -> tuple[Driver, Callable[[], Any]]:
    """The driver of ``spec``, and what builds the request each run sends (or None)."""
    if spec.command is not None:
        return CommandDriver(spec.command.name, list(spec.command.args)), _no_request
    if call is not None:
        function, args, kwargs = call
        if spec.call and spec.call.input:
            args = [_call_input_factory(spec.call.input), *args]
        return CallDriver(function, args, kwargs), _no_request
    assert spec.request is not None and match is not None
    builder = RequestBuilder(spec.request, identity)
    builder.check_host()
    return make_driver(spec.driver, match, identity, spec.request.enforce_csrf), builder.build


def _no_request() -> None:
    return None


def _identity(spec: RunSpec, harness: Harness) -> Identity:
    assert spec.user is not None
    identity = harness.identity(spec.user)
    if identity.session_key is None and spec.driver != "direct" and spec.request is not None:
        raise ProfileCmdsError(
            "--user needs SessionMiddleware (or a subclass) in MIDDLEWARE to log the user in "
            "through the full stack; use --direct to attach the user to the view's request."
        )
    return identity


def _resolve_call(spec: RunSpec) -> tuple[Any, list[Any], dict[str, Any]]:
    assert spec.call is not None
    function = _import_callable(spec.call.dotted, "")
    return function, list(spec.call.args), dict(spec.call.kwargs)


def _import_callable(dotted: str, option: str) -> Any:
    """The callable ``dotted`` names (``option`` says which option gave it, for the error)."""
    function, _module = import_dotted(dotted)
    if isinstance(function, (staticmethod, classmethod)):
        function = function.__func__
    if not callable(function):
        raise TargetError(
            f"{option + ' ' if option else ''}{dotted!r} is a {type(function).__name__}, "
            "not callable."
        )
    return function


def _call_input_factory(dotted: str) -> Any:
    """What the ``--input`` factory returns: the call's first argument. Called inside the
    sandbox, so what the factory writes is rolled back too."""
    from django_profilecmds.exception_summary import summarise_exception

    factory = _import_callable(dotted, "--input")
    try:
        return factory()
    except (Exception, SystemExit) as exc:
        raise ProfileCmdsError(
            f"The --input factory {dotted!r} raised {summarise_exception(exc)}; "
            "the call was not run."
        ) from exc


def _status(outcome: Outcome) -> int | None:
    return outcome.response.status_code if outcome.response is not None else None


def _response_summary(outcome: Outcome) -> ResponseSummary:
    response = outcome.response
    if response is None:
        reason = outcome.returned or "raised"
        return ResponseSummary(None, reason, "", 0, False, {})
    return ResponseSummary(
        status=response.status_code,
        reason=response.reason_phrase,
        content_type=response.get("Content-Type", ""),
        size=outcome.body_size,
        streaming=response.streaming,
        headers=dict(response.items()),
        body_preview=_body_preview(response),
    )


TEXTUAL = ("text/", "json", "xml", "javascript")
PREVIEW_BYTES = 2000


def _body_preview(response: Any) -> str:
    content_type = response.get("Content-Type", "")
    if response.streaming or not any(kind in content_type for kind in TEXTUAL):
        return ""
    try:
        return str(response.content[:PREVIEW_BYTES].decode(response.charset, errors="replace"))
    except LookupError:  # a charset Python does not know
        return str(response.content[:PREVIEW_BYTES].decode("latin-1"))


def _email_summary(message: Any) -> EmailSummary:
    return EmailSummary(
        subject=str(message.subject), from_email=str(message.from_email), to=list(message.to)
    )


def _pstats(profile: Any) -> Any:
    import pstats

    return pstats.Stats(profile)


def environment() -> dict[str, str]:
    import django
    from django.db import connections

    vendors = sorted({connections[alias].vendor for alias in connections})
    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "settings": os.environ.get("DJANGO_SETTINGS_MODULE", ""),
        "databases": ", ".join(vendors),
    }
