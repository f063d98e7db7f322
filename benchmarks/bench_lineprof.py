"""lineprof against a bare line_profiler ``LineProfiler`` wrapping the same function on the same
request (the demo's N+1 page, line-profiling ``Listing.latest_price``). Goal: at most 1.05x.

Both sides create their profiler and add the function once per round (line_profiler gives each
profiler its own copy of the code), then send the same number of requests.

Run with ``make bench`` (or ``python -m benchmarks.bench_lineprof`` from the repository root).
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks._common import bare_handler, interleaved, report, setup_demo_django

PATH = "/listings/"
TARGET = "shop.models.Listing.latest_price"
PER_ROUND = 3
ROUNDS = 16


def main() -> None:
    setup_demo_django()
    from line_profiler import LineProfiler

    from django_profilecmds.runner import run
    from django_profilecmds.spec import RequestSpec, RunSpec
    from django_profilecmds.targets import resolve_target

    handler, factory = bare_handler()
    (function,) = resolve_target(TARGET).functions

    def bare() -> float:
        start = time.perf_counter()
        profiler = LineProfiler()
        profiler.add_function(function)
        for _ in range(PER_ROUND):
            request = factory.get(PATH, HTTP_HOST="localhost")
            profiler.enable_by_count()
            handler.get_response(request).content  # noqa: B018
            profiler.disable_by_count()
        profiler.get_stats()
        return (time.perf_counter() - start) / PER_ROUND

    spec = RunSpec(request=RequestSpec(PATH), profiler="none", lines=(TARGET,), repeat=PER_ROUND)

    def lineprof() -> float:
        start = time.perf_counter()
        result = run(spec)
        assert result.lines[0].executed
        return (time.perf_counter() - start) / PER_ROUND

    bare(), lineprof()
    ratio, base, cand = interleaved(ROUNDS, bare, lineprof)
    report("lineprof vs bare LineProfiler", ratio, 1.05, base, cand)
    harness_share(spec)


def harness_share(spec: Any) -> None:
    """A second, steadier figure: the time the SQL collector spends in its own code per query
    (the whole query wrapper less the query itself), as a share of the request. Both are timed
    within the same requests, so a machine that changes speed between rounds moves both."""
    from django_profilecmds.collectors import sql
    from django_profilecmds.runner import run

    own = [0.0]
    original = sql.QueryCollector._wrapper_for

    def timed_wrapper(self: Any, alias: str) -> Any:
        record = original(self, alias)

        def wrapper(execute: Any, *args: Any) -> Any:
            inner = [0.0]

            def timed_execute(*call: Any) -> Any:
                start = time.perf_counter()
                try:
                    return execute(*call)
                finally:
                    inner[0] += time.perf_counter() - start

            start = time.perf_counter()
            try:
                return record(timed_execute, *args)
            finally:
                own[0] += time.perf_counter() - start - inner[0]

        return wrapper

    sql.QueryCollector._wrapper_for = timed_wrapper  # type: ignore[method-assign]
    try:
        result = run(spec)
    finally:
        sql.QueryCollector._wrapper_for = original  # type: ignore[method-assign]
    total = sum(r.wall for r in result.runs)
    print(
        f"lineprof's SQL collector: {own[0] / len(result.runs) * 1000:.1f} ms of its own per "
        f"request of {total / len(result.runs) * 1000:.1f} ms ({own[0] / total:.1%}), "
        f"{len(result.queries) // len(result.runs)} queries per request"
    )


if __name__ == "__main__":
    main()
