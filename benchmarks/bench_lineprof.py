"""lineprof against a bare line_profiler ``LineProfiler`` wrapping the same function on the same
request (the demo's N+1 page, 418 queries, line-profiling ``Listing.latest_price``). Goal: at
most 1.05x.

Both sides create their profiler and add the function once per round (line_profiler gives each
profiler its own copy of the code), send the same requests and read the stats; lineprof also
finds every query's origin and the profiled line it ran on, and builds its line report. Wall
time decides; the ratio of CPU time (steadier when other processes take the cores) is printed
beside it.

lineprof runs the request inside its rollback transaction, and on SQLite a request's reads are
a few percent faster inside one transaction than in autocommit (fewer file-lock system calls).
A second, reference figure (no goal) therefore puts the bare LineProfiler's request in a
rolled-back transaction too: it is the cost of lineprof's own work alone.

``--instructions`` (needs valgrind) counts the CPU instructions of one request on each side
under callgrind instead, in child processes (two and four requests each, so start-up cancels
out): a figure free of machine noise, to read beside the wall-time ratio. It takes minutes.

Run with ``make bench`` (or ``python -m benchmarks.bench_lineprof`` from the repository root).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from benchmarks._common import (
    ROOT,
    bare_handler,
    demo_environment,
    interleaved,
    report,
    setup_demo_django,
    setup_django,
)

PATH = "/listings/"
TARGET = "shop.models.Listing.latest_price"
ROUNDS = 100
REFERENCE_ROUNDS = 50


def sides() -> dict[str, Callable[[], None]]:
    """One request on each side: ``bare``, ``bare_in_transaction`` and ``lineprof``."""
    from django.db import transaction
    from line_profiler import LineProfiler

    from django_profilecmds.runner import run
    from django_profilecmds.spec import RequestSpec, RunSpec
    from django_profilecmds.targets import resolve_target

    handler, factory = bare_handler()
    (function,) = resolve_target(TARGET).functions

    def bare() -> None:
        profiler = LineProfiler()
        profiler.add_function(function)
        request = factory.get(PATH, HTTP_HOST="localhost")
        profiler.enable_by_count()
        handler.get_response(request).content  # noqa: B018
        profiler.disable_by_count()
        profiler.get_stats()

    def bare_in_transaction() -> None:
        profiler = LineProfiler()
        profiler.add_function(function)
        request = factory.get(PATH, HTTP_HOST="localhost")
        with transaction.atomic():
            profiler.enable_by_count()
            handler.get_response(request).content  # noqa: B018
            profiler.disable_by_count()
            transaction.set_rollback(True)
        profiler.get_stats()

    spec = RunSpec(request=RequestSpec(PATH), profiler="none", lines=(TARGET,))

    def lineprof() -> None:
        result = run(spec)
        assert result.lines[0].executed and len(result.queries) == 418

    return {"bare": bare, "bare_in_transaction": bare_in_transaction, "lineprof": lineprof}


def main() -> None:
    setup_demo_django()
    side = sides()
    cpu: dict[str, list[float]] = {"bare": [], "lineprof": []}

    def timed(name: str) -> Callable[[], float]:
        def measure() -> float:
            start, start_cpu = time.perf_counter(), time.thread_time()
            side[name]()
            if name in cpu:
                cpu[name].append(time.thread_time() - start_cpu)
            return time.perf_counter() - start

        return measure

    for name in side:
        side[name]()  # warm up
    ratio, base, cand = interleaved(ROUNDS, timed("bare"), timed("lineprof"))
    report("lineprof vs bare LineProfiler", ratio, 1.05, base, cand)
    cpu_ratios = [c / b for b, c in zip(cpu["bare"], cpu["lineprof"], strict=True)]
    print(f"  CPU time ratio: {statistics.median(cpu_ratios):.3f} (median of {ROUNDS} rounds)")
    ratio, base, cand = interleaved(
        REFERENCE_ROUNDS, timed("bare_in_transaction"), timed("lineprof")
    )
    report("lineprof vs bare LineProfiler, both in a transaction", ratio, None, base, cand)


def child(name: str, requests: int) -> None:
    """Run under callgrind: set up Django on the given database, warm up, send the requests."""
    setup_django()
    request = sides()[name]
    for _ in range(requests + 1):
        request()


def instructions() -> None:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        sys.exit("--instructions needs valgrind (apt-get install valgrind).")
    env = demo_environment()

    def count(name: str, requests: int) -> int:
        command = [
            valgrind,
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "benchmarks.bench_lineprof",
            "--child",
            name,
            str(requests),
        ]
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode or found is None:
            sys.exit(f"callgrind run of {name} failed:\n{done.stderr[-2000:]}")
        return int(found.group(1))

    runs = [(name, n) for name in ("bare", "lineprof") for n in (2, 4)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = dict(zip(runs, pool.map(lambda run: count(*run), runs), strict=True))
    per_request = {name: (counts[name, 4] - counts[name, 2]) / 2 for name in ("bare", "lineprof")}
    ratio = per_request["lineprof"] / per_request["bare"]
    print(
        f"lineprof vs bare LineProfiler, CPU instructions per request under callgrind: "
        f"ratio {ratio:.3f} (goal <= 1.05) {'ok' if ratio <= 1.05 else 'MISSED'}; "
        f"bare {per_request['bare'] / 1e6:.0f} M, lineprof {per_request['lineprof'] / 1e6:.0f} M"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["--instructions"]:
        instructions()
    else:
        main()
