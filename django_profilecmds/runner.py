"""``run(spec) -> RunResult``: the one pipeline every command goes through.

``run`` reads as its steps: plan what to observe, enter the harness (the sandbox and the
collectors), log the user in, choose the driver, run ``warmup + repeat`` times, EXPLAIN while
still inside the sandbox, and turn what was collected into a :class:`RunResult`.
"""

from __future__ import annotations

import dataclasses
import logging
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from django.urls.resolvers import ResolverMatch

from django_profilecmds.analysis.budgets import check_budgets
from django_profilecmds.analysis.sql import SqlAnalysis, analyse
from django_profilecmds.analysis.stats import summarise
from django_profilecmds.collectors import Collector, Observer
from django_profilecmds.collectors.sql import QueryCollector
from django_profilecmds.collectors.timing import TimingCollector
from django_profilecmds.drivers import HARNESS_FILES, Driver, Outcome, request_driver
from django_profilecmds.exceptions import ProfileCmdsError
from django_profilecmds.harness import Harness
from django_profilecmds.request_builder import RequestBuilder
from django_profilecmds.result import (
    EmailSummary,
    ProfilerArtefacts,
    RequestIdentity,
    ResponseSummary,
    RunResult,
    RunTiming,
)
from django_profilecmds.routing import resolve_path
from django_profilecmds.spec import RunSpec
from django_profilecmds.summaries import email_summary, environment, response_summary
from django_profilecmds.targets import Target, call_input, import_callable, resolve_target
from django_profilecmds.users import Identity

if TYPE_CHECKING:
    from django_profilecmds.analysis.explain import Explain
    from django_profilecmds.analysis.lines import FunctionLines
    from django_profilecmds.collectors.calltree import CallTreeCollector
    from django_profilecmds.collectors.functions import FunctionStatsCollector
    from django_profilecmds.collectors.lines import LineCollector


def run(spec: RunSpec) -> RunResult:
    """Send ``spec``'s request ``warmup + repeat`` times inside the sandbox, observing the
    counted runs. Raises :class:`~django_profilecmds.exceptions.ProfileCmdsError` on bad input.
    """
    created = datetime.now().isoformat(timespec="milliseconds")
    plan = Plan.of(spec)
    instruments = Instruments.for_plan(spec, plan)
    harness = Harness.for_spec(spec, instruments.queries)
    with harness:
        identity = _log_in(spec, harness)
        driver, builder = _driver(spec, plan, identity)
        runs = _run_all(spec, harness, driver, builder, instruments)
        explains = _explain(spec, instruments.queries)
    return _result(spec, plan, instruments, harness, identity, driver, runs, explains, created)


@dataclass
class Plan:
    """What ``spec`` names, resolved before anything runs: the view, the line-profiled
    functions and the callable."""

    match: ResolverMatch | None
    targets: list[Target]
    line_functions: list[types.FunctionType]
    call: Call | None

    @classmethod
    def of(cls, spec: RunSpec) -> Plan:
        match = resolve_path(unquote(urlsplit(spec.request.path).path)) if spec.request else None
        targets = [resolve_target(path, spec.inherited) for path in spec.lines]
        functions = list(dict.fromkeys(f for target in targets for f in target.functions))
        return cls(match, targets, functions, _resolve_call(spec) if spec.call else None)


@dataclass
class Call:
    function: Callable[..., Any]
    args: list[Any]
    kwargs: dict[str, Any]


@dataclass
class Instruments:
    """The collectors of a run, and the observer that starts them in order."""

    timing: TimingCollector
    queries: QueryCollector
    calltree: CallTreeCollector | None = None
    functions: FunctionStatsCollector | None = None
    lines: LineCollector | None = None
    profilers: list[Collector] = field(default_factory=list)

    @classmethod
    def for_plan(cls, spec: RunSpec, plan: Plan) -> Instruments:
        instruments = cls(TimingCollector(), QueryCollector(harness_files=HARNESS_FILES))
        if spec.profiler == "pyinstrument":
            from django_profilecmds.collectors.calltree import CallTreeCollector

            # The title without the query string, whose values may be secrets.
            instruments.calltree = CallTreeCollector(spec.interval, spec.title.split("?", 1)[0])
            instruments.profilers.append(instruments.calltree)
        elif spec.profiler == "cprofile":
            from django_profilecmds.collectors.functions import FunctionStatsCollector

            instruments.functions = FunctionStatsCollector()
            instruments.profilers.append(instruments.functions)
        if plan.line_functions:
            from django_profilecmds.collectors.lines import LineCollector

            instruments.lines = LineCollector(plan.line_functions)
            instruments.queries.line_codes = instruments.lines.codes
            instruments.profilers.append(instruments.lines)
        return instruments

    def observer(self, harness: Harness) -> Observer:
        # Timing innermost, so profiler start/stop is not part of the measured time.
        return Observer([*self.profilers, self.queries, harness.caches, self.timing])


@dataclass
class Runs:
    """The counted runs' outcomes, and what the warm-up and the counted runs left behind."""

    outcomes: list[Outcome]
    warmup_errors: list[str]
    emails: list[EmailSummary]


def _log_in(spec: RunSpec, harness: Harness) -> Identity | None:
    if spec.user is None:
        return None
    identity = harness.identity(spec.user)
    if identity.session_key is None and spec.driver != "direct" and spec.request is not None:
        raise ProfileCmdsError(
            "--user needs SessionMiddleware (or a subclass) in MIDDLEWARE to log the user in "
            "through the full stack; use --direct to attach the user to the view's request."
        )
    return identity


def _driver(
    spec: RunSpec, plan: Plan, identity: Identity | None
) -> tuple[Driver, RequestBuilder | None]:
    """The driver of ``spec``, and what builds the request each run sends (None: no request)."""
    if spec.command is not None:
        from django_profilecmds.drivers.command import CommandDriver

        return CommandDriver(spec.command.name, list(spec.command.args)), None
    if plan.call is not None:
        from django_profilecmds.drivers.call import CallDriver

        call = plan.call
        args = call.args
        if spec.call and spec.call.input:
            args = [call_input(spec.call.input), *args]
        return CallDriver(call.function, args, call.kwargs), None
    assert spec.request is not None and plan.match is not None
    builder = RequestBuilder(spec.request, identity)
    builder.check_host()
    driver = request_driver(spec.driver, plan.match, identity, spec.request.enforce_csrf)
    return driver, builder


def _run_all(
    spec: RunSpec,
    harness: Harness,
    driver: Driver,
    builder: RequestBuilder | None,
    instruments: Instruments,
) -> Runs:
    """``warmup`` unobserved runs, then ``repeat`` observed ones, each in a savepoint."""
    observer = instruments.observer(harness)
    rehearsal = Observer([instruments.queries.rehearsal()])
    runs = Runs([], [], [])
    emails_before = 0
    for index in range(spec.warmup + spec.repeat):
        counted = index >= spec.warmup
        if index == spec.warmup:
            emails_before = len(harness.outbox)
        if counted:
            outcome = harness.send(spec, driver, observer, builder)
        else:
            with _quiet_request_log():
                outcome = harness.send(spec, driver, rehearsal, builder)
        if counted:
            runs.outcomes.append(outcome)
        elif outcome.error:
            runs.warmup_errors.append(outcome.error)
    runs.emails = [email_summary(message) for message in harness.outbox[emails_before:]]
    return runs


@contextmanager
def _quiet_request_log() -> Iterator[None]:
    """Django's "Internal Server Error" log of a warm-up run is left out: the counted run
    logs the same error, and the summary names it."""
    logger = logging.getLogger("django.request")
    disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = disabled


def _explain(spec: RunSpec, queries: QueryCollector) -> list[Explain]:
    if not spec.explain:
        return []
    from django_profilecmds.analysis.explain import explain_queries

    # Still inside the sandbox: EXPLAIN ANALYZE's effects are rolled back too.
    return explain_queries(queries.queries, spec.explain_top, spec.explain_analyze)


def _result(
    spec: RunSpec,
    plan: Plan,
    instruments: Instruments,
    harness: Harness,
    identity: Identity | None,
    driver: Driver,
    runs: Runs,
    explains: list[Explain],
    created: str,
) -> RunResult:
    """What was collected, as plain data (the profilers' own objects kept alongside)."""
    box = harness.sandbox.report
    queries, timing, outcomes = instruments.queries, instruments.timing, runs.outcomes
    timings = []
    for index, outcome in enumerate(outcomes):
        run_queries = queries.for_run(index)
        timings.append(
            RunTiming(
                wall=timing.wall[index],
                cpu=timing.cpu[index],
                queries=len(run_queries),
                db_time=sum(q.duration for q in run_queries),
                status=outcome.response.status_code if outcome.response is not None else None,
                overhead=queries.overhead[index] if index < len(queries.overhead) else 0.0,
            )
        )
    errors = list(dict.fromkeys(o.error for o in outcomes if o.error)) or runs.warmup_errors[:1]
    warnings = list(box.warnings)
    if identity is not None and not getattr(identity.user, "is_active", True):
        warnings.append(
            f"User {identity.description} is inactive: most authentication backends treat "
            "the request as anonymous."
        )
    response = response_summary(outcomes[-1])
    carried = _carried_identity(spec, plan, identity, outcomes[-1], response, warnings)
    sql = analyse(queries.queries, len(timings), spec.nplusone_threshold)
    if plan.match is not None and sql.nplusone:
        _name_the_queryset(sql, plan.match.func)
    sql.explains = [dataclasses.asdict(explain) for explain in explains]
    match = plan.match
    calltree, functions, lines = instruments.calltree, instruments.functions, instruments.lines
    artefacts = ProfilerArtefacts(
        calltree=calltree.session if calltree else None,
        timeline=calltree.timeline_of if calltree else None,
        function_stats=functions.stats() if functions and functions.used else None,
        line_stats=lines.stats() if lines else None,
    )
    line_report: list[FunctionLines] = []
    if artefacts.line_stats is not None:
        from django_profilecmds.analysis.lines import build_line_report

        line_report = build_line_report(artefacts.line_stats, plan.line_functions, queries.queries)
    result = RunResult(
        spec=spec,
        driver=driver.description,
        view=match._func_path if match else spec.title.split(" ", 1)[1],
        user=identity.description if identity else None,
        identity=carried,
        runs=timings,
        wall=summarise(timing.wall),
        cpu=summarise(timing.cpu),
        response=response,
        queries=queries.queries,
        emails=runs.emails,
        refused=[refusal.describe() for refusal in box.refused],
        files_written=box.files_written,
        files_deleted=box.files_deleted,
        test_databases=harness.options.test_databases,
        caches=[dataclasses.asdict(stats) for stats in harness.caches.totals()],
        environment=environment(),
        errors=errors,
        warnings=warnings,
        artefacts=artefacts,
        lines=line_report,
        secrets=[identity.session_key] if identity and identity.session_key else [],
        sql=sql,
        output=outcomes[-1].output,
        created=created,
        targets=[
            {"path": t.path, "kind": t.kind, "functions": len(t.functions), "notes": t.notes}
            for t in plan.targets
        ],
    )
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


def _name_the_queryset(sql: SqlAnalysis, view: Any) -> None:
    """Each hint on the rows of a class-based view's own queryset says where it is built."""
    from django_profilecmds.analysis.querysets import queryset_home

    home = queryset_home(view)
    if home is None:
        return
    model, where = home
    for flag in sql.nplusone:
        if flag.fix is not None and flag.fix.model == model:
            flag.hint += f" The queryset is built in {where}."


def _carried_identity(
    spec: RunSpec,
    plan: Plan,
    identity: Identity | None,
    outcome: Outcome,
    response: ResponseSummary,
    warnings: list[str],
) -> RequestIdentity | None:
    """Who the last counted request was, and a note in ``warnings`` when the view refused
    the ``--user`` it was sent as."""
    if spec.request is None or outcome.request is None:
        return None
    from django_profilecmds.request_identity import auth_note, read_identity, view_authentication

    authentication = view_authentication(plan.match)
    carried = read_identity(outcome.request, identity, authentication, spec.driver == "direct")
    note = auth_note(carried, response, authentication)
    if note:
        warnings.append(note)
    return carried


def _resolve_call(spec: RunSpec) -> Call:
    assert spec.call is not None
    function = import_callable(spec.call.dotted, "")
    return Call(function, list(spec.call.args), dict(spec.call.kwargs))
