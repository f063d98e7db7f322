"""lineprof against a bare line_profiler ``LineProfiler`` wrapping the same function on the same
request (the demo's N+1 page, 418 queries, line-profiling ``Listing.latest_price``). Goal: at
most 1.05x.

Both sides create their profiler and add the function once per round (line_profiler gives each
profiler its own copy of the code), send the same requests and read the stats; lineprof also
finds every query's origin and the profiled line it ran on, and builds its line report. Wall
time decides; the ratio of CPU time (steadier when other processes take the cores) is printed
beside it.

Run with ``make bench`` (or ``python -m benchmarks.bench_lineprof`` from the repository root).
"""

from __future__ import annotations

import statistics
import time

from benchmarks._common import bare_handler, interleaved, report, setup_demo_django

PATH = "/listings/"
TARGET = "shop.models.Listing.latest_price"
PER_ROUND = 1
ROUNDS = 100


def main() -> None:
    setup_demo_django()
    from line_profiler import LineProfiler

    from django_profilecmds.runner import run
    from django_profilecmds.spec import RequestSpec, RunSpec
    from django_profilecmds.targets import resolve_target

    handler, factory = bare_handler()
    (function,) = resolve_target(TARGET).functions
    cpu: dict[str, list[float]] = {"bare": [], "lineprof": []}

    def bare() -> float:
        start, start_cpu = time.perf_counter(), time.thread_time()
        profiler = LineProfiler()
        profiler.add_function(function)
        for _ in range(PER_ROUND):
            request = factory.get(PATH, HTTP_HOST="localhost")
            profiler.enable_by_count()
            handler.get_response(request).content  # noqa: B018
            profiler.disable_by_count()
        profiler.get_stats()
        cpu["bare"].append(time.thread_time() - start_cpu)
        return (time.perf_counter() - start) / PER_ROUND

    spec = RunSpec(request=RequestSpec(PATH), profiler="none", lines=(TARGET,), repeat=PER_ROUND)

    def lineprof() -> float:
        start, start_cpu = time.perf_counter(), time.thread_time()
        result = run(spec)
        cpu["lineprof"].append(time.thread_time() - start_cpu)
        assert result.lines[0].executed and len(result.queries) == 418 * PER_ROUND
        return (time.perf_counter() - start) / PER_ROUND

    bare(), lineprof()
    cpu["bare"].clear()
    cpu["lineprof"].clear()
    ratio, base, cand = interleaved(ROUNDS, bare, lineprof)
    report("lineprof vs bare LineProfiler", ratio, 1.05, base, cand)
    cpu_ratios = [c / b for b, c in zip(cpu["bare"], cpu["lineprof"], strict=True)]
    print(f"  CPU time ratio: {statistics.median(cpu_ratios):.3f} (median of {ROUNDS} rounds)")


if __name__ == "__main__":
    main()
