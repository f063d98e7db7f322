"""Cost of SQL capture (origin frames, template lines) on the demo's N+1 page.

Compares, in one process with interleaved rounds, a bare ``handler.get_response`` with:
  * the profiler's query collector recording (goal: at most 1.15x of no capture);
  * Django's ``CaptureQueriesContext``, for reference (it records SQL and time, no origins).

Run with ``make bench`` (or ``python -m benchmarks.bench_sql_capture`` from the repository root).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from benchmarks._common import bare_handler, interleaved, report, setup_demo_django

PATH = "/listings/"
PER_ROUND = 4
ROUNDS = 10


def main() -> None:
    setup_demo_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from django_profilecmds.collectors.sql import QueryCollector

    handler, factory = bare_handler()

    def timed(wrap: Callable[[], Any] | None) -> float:
        start = time.perf_counter()
        for _ in range(PER_ROUND):
            request = factory.get(PATH, HTTP_HOST="localhost")
            if wrap is None:
                handler.get_response(request).content  # noqa: B018
                continue
            with wrap():
                handler.get_response(request).content  # noqa: B018
        return (time.perf_counter() - start) / PER_ROUND

    collector = QueryCollector()

    class Recording:
        def __enter__(self) -> None:
            collector.clear()
            collector.start(None)

        def __exit__(self, *exc: object) -> None:
            collector.stop()

    with collector.installed():
        timed(None), timed(Recording)  # warm caches for both sides
        ratio, base, cand = interleaved(ROUNDS, lambda: timed(None), lambda: timed(Recording))
        report("query capture with origins vs no capture", ratio, 1.15, base, cand)
        ratio, base, cand = interleaved(
            ROUNDS,
            lambda: timed(lambda: CaptureQueriesContext(connection)),
            lambda: timed(Recording),
        )
        report("query capture with origins vs CaptureQueriesContext", ratio, None, base, cand)


if __name__ == "__main__":
    main()
