"""Per-request cost of profile_request() against Django's handler called directly.

On the demo's three kinds of page (the N+1 list, the fixed list, the JSON statistics), each
measured in one process with interleaved rounds, one ``profile_request()`` call per request
(its fixed cost outside the request included, as every replayed request and every test that
calls the API pays it):
  * profiler="none": at most 1.05x a bare ``handler.get_response(request)``;
  * profiler="pyinstrument" (the default): at most 1.05x a bare pyinstrument ``Profiler``
    around the handler;
  * on the N+1 page, the harness's own share of the wall time (the SQL bookkeeping the
    result reports as ``overhead``) under 2%.

Run with ``make bench`` (or ``python -m benchmarks.<name>`` from the repository root).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from benchmarks._common import bare_handler, interleaved, report, setup_demo_django

PAGES = {"/listings/": 2, "/listings/fast/": 8, "/api/listings/stats/": 8}  # calls per round
ROUNDS = 10


def main() -> None:
    setup_demo_django()
    from pyinstrument import Profiler

    from django_profilecmds import profile_request

    handler, factory = bare_handler()

    def bare(path: str, calls: int, profile: bool) -> float:
        start = time.perf_counter()
        for _ in range(calls):
            request = factory.get(path, HTTP_HOST="localhost")
            profiler = Profiler(interval=0.001) if profile else None
            if profiler:
                profiler.start()
            response = handler.get_response(request)
            len(response.content)
            if profiler:
                profiler.stop()
        return (time.perf_counter() - start) / calls

    shares: list[float] = []

    def harness(path: str, calls: int, profiler: str) -> float:
        start = time.perf_counter()
        for _ in range(calls):
            # warmup=0: the cost of one counted request (the default warm-up run is one more)
            result = profile_request(path, profiler=profiler, warmup=0)  # type: ignore[arg-type]
            if path == "/listings/" and profiler == "pyinstrument":
                shares.append(result.overhead / result.wall.median)
        return (time.perf_counter() - start) / calls

    for path, calls in PAGES.items():
        measure_page(path, calls, bare, harness)
    share = statistics.median(shares)
    verdict = "ok" if share < 0.02 else "MISSED"
    print(
        f"/listings/ the harness's share of the wall time under pyinstrument: {share:.1%} "
        f"(goal < 2%) {verdict}; spread {min(shares):.1%}-{max(shares):.1%} "
        f"over {len(shares)} requests"
    )


def measure_page(
    path: str,
    calls: int,
    bare: Callable[[str, int, bool], float],
    harness: Callable[[str, int, str], float],
) -> None:
    bare(path, 1, False), harness(path, 1, "none")  # warm caches for both sides
    ratio, base, cand = interleaved(
        ROUNDS, lambda: bare(path, calls, False), lambda: harness(path, calls, "none")
    )
    report(f"{path} profile_request(profiler='none') vs bare handler", ratio, 1.05, base, cand)
    ratio, base, cand = interleaved(
        ROUNDS, lambda: bare(path, calls, True), lambda: harness(path, calls, "pyinstrument")
    )
    report(f"{path} profile_request() vs bare pyinstrument", ratio, 1.05, base, cand)


if __name__ == "__main__":
    main()
