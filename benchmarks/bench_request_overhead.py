"""Per-request cost of profile_request() against Django's handler called directly.

Two goals on the demo's N+1 list page, each measured in one process with interleaved rounds:
  * profiler="none": at most 1.05x a bare ``handler.get_response(request)``;
  * profiler="pyinstrument": at most 1.05x a bare pyinstrument ``Profiler`` around the handler.

Run with ``make bench`` (or ``python -m benchmarks.<name>`` from the repository root).
"""

from __future__ import annotations

import time

from benchmarks._common import bare_handler, interleaved, report, setup_demo_django

PATH = "/listings/"
PER_ROUND = 4
ROUNDS = 8


def main() -> None:
    setup_demo_django()
    from pyinstrument import Profiler

    from django_profilecmds import profile_request

    handler, factory = bare_handler()

    def bare(profile: bool) -> float:
        start = time.perf_counter()
        for _ in range(PER_ROUND):
            request = factory.get(PATH, HTTP_HOST="localhost")
            profiler = Profiler(interval=0.001) if profile else None
            if profiler:
                profiler.start()
            response = handler.get_response(request)
            len(response.content)
            if profiler:
                profiler.stop()
        return (time.perf_counter() - start) / PER_ROUND

    def harness(profiler: str) -> float:
        start = time.perf_counter()
        # warmup=0: the cost per counted request (the default warm-up run is one more)
        profile_request(PATH, profiler=profiler, repeat=PER_ROUND, warmup=0)  # type: ignore[arg-type]
        return (time.perf_counter() - start) / PER_ROUND

    bare(False), harness("none")  # warm caches (templates, connections) for both sides
    ratio, base, cand = interleaved(ROUNDS, lambda: bare(False), lambda: harness("none"))
    report("profile_request(profiler='none') vs bare handler", ratio, 1.05, base, cand)
    ratio, base, cand = interleaved(ROUNDS, lambda: bare(True), lambda: harness("pyinstrument"))
    report("profile_request(profiler='pyinstrument') vs bare Profiler", ratio, 1.05, base, cand)


if __name__ == "__main__":
    main()
