"""lineprof against a bare line_profiler ``LineProfiler`` wrapping the same function on the same
request (the demo's N+1 page, line-profiling ``Listing.latest_price``). Goal: at most 1.05x.

Both sides create their profiler and add the function once per round (line_profiler gives each
profiler its own copy of the code), then send the same number of requests.

Run with ``make bench`` (or ``python -m benchmarks.bench_lineprof`` from the repository root).
"""

from __future__ import annotations

import time

from benchmarks._common import bare_handler, interleaved, report, setup_demo_django

PATH = "/listings/"
TARGET = "shop.models.Listing.latest_price"
PER_ROUND = 3
ROUNDS = 8


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


if __name__ == "__main__":
    main()
