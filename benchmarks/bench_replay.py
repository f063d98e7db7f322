"""profile_replay: throughput against a bare handler loop, and memory on long logs.

* Throughput: the GET requests of ``demo_site/traffic/access.log`` that resolve, replayed by
  ``replay()`` (savepoint per request, SQL capture, N+1 analysis, aggregation) against a loop
  that only builds each request and calls ``handler.get_response`` on the same requests, in one
  process with interleaved rounds. Goal: at least 0.85 of the bare loop's requests per second.
* Memory: peak RSS of a child process replaying 10,000 and then 100,000 lines of a log of the
  demo's health check (the cheapest view, so the replay's own memory is what shows). Goal:
  flat (the 100,000-line peak within 10% of the 10,000-line one).

Run with ``make bench`` (or ``python -m benchmarks.bench_replay`` from the repository root).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import DEMO, ROOT, bare_handler, demo_environment, setup_demo_django

LOG = DEMO / "traffic" / "access.log"
ROUNDS = 6
REQUESTS = 100  # the first ones of the log: a minute of traffic, a few seconds to replay
LINE = '203.0.113.9 - - [20/Nov/2026:10:00:00 +0000] "GET /health/ HTTP/1.1" 200 512 "-" "curl/8"\n'


class Requests:
    """An in-memory source: the same requests for both sides."""

    format = "combined"
    problem_count = 0
    problems: list[Any] = []

    def __init__(self, requests: list[Any]) -> None:
        self.requests = requests

    def __iter__(self) -> Any:
        return iter(self.requests)


def throughput() -> None:
    setup_demo_django()
    from django.db import transaction
    from django.urls import Resolver404, resolve

    from django_profilecmds.replay.engine import ReplayOptions, replay
    from django_profilecmds.replay.sources import open_source
    from django_profilecmds.sandbox import keep_connections_open

    requests: list[Any] = []
    for request in open_source(LOG):
        try:
            resolve(request.path.split("?", 1)[0])
        except Resolver404:
            continue
        if request.method == "GET" and len(requests) < REQUESTS:
            requests.append(request)
    handler, factory = bare_handler()

    def bare() -> float:
        start = time.perf_counter()
        # Same as the replay: the request signals must not close the connection mid-transaction.
        with keep_connections_open(), transaction.atomic():
            for request in requests:
                path, _, query = request.path.partition("?")
                response = handler.get_response(
                    factory.get(path, QUERY_STRING=query, HTTP_HOST="localhost")
                )
                if response.streaming:
                    b"".join(response.streaming_content)
                else:
                    response.content  # noqa: B018
                response.close()
            transaction.set_rollback(True)
        return time.perf_counter() - start

    def replayed() -> float:
        start = time.perf_counter()
        stats = replay(Requests(requests), ReplayOptions())
        assert stats.replayed == len(requests)
        return time.perf_counter() - start

    bare(), replayed()  # warm caches on both sides
    base: list[float] = []
    cand: list[float] = []
    for index in range(ROUNDS):
        pair = (bare, replayed) if index % 2 == 0 else (replayed, bare)
        for function in pair:
            (base if function is bare else cand).append(function())
    ratios = [b / c for b, c in zip(base, cand, strict=True)]
    ratio = statistics.median(ratios)
    print(
        f"replay throughput vs bare handler loop: {ratio:.3f} of the bare loop "
        f"(goal >= 0.85) {'ok' if ratio >= 0.85 else 'MISSED'}; "
        f"{len(requests) / statistics.median(cand):.0f} req/s replayed, "
        f"{len(requests) / statistics.median(base):.0f} req/s bare, {len(requests)} requests, "
        f"{ROUNDS} rounds, ratio spread {(max(ratios) - min(ratios)) / ratio:.0%}"
    )


def peak_rss(lines: int) -> tuple[float, float]:
    """Replay ``lines`` lines in a child process; its peak RSS (MB) and its run time (s)."""
    directory = Path(tempfile.mkdtemp(prefix="profilecmds-replay-"))
    log = directory / "access.log"
    with log.open("w") as handle:
        for _ in range(lines):
            handle.write(LINE)
    code = (
        "import sys, time, resource; sys.path.insert(0, 'demo_site');"
        "import django; django.setup();"
        "from django_profilecmds.replay.engine import ReplayOptions, replay_file;"
        "start = time.perf_counter();"
        f"stats = replay_file({str(log)!r}, ReplayOptions());"
        f"assert stats.replayed == {lines}, stats.replayed;"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter() - start)"
    )
    env = {**ENV, "DJANGO_SETTINGS_MODULE": "demo_site.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    rss_kb, seconds = done.stdout.split()
    return int(rss_kb) / 1024, float(seconds)


ENV: dict[str, str] = {}


def memory() -> None:
    ENV.update(demo_environment())
    small, small_time = peak_rss(10_000)
    large, large_time = peak_rss(100_000)
    growth = large / small
    print(
        f"replay peak memory: {small:.1f} MB for 10,000 lines ({small_time:.0f} s), "
        f"{large:.1f} MB for 100,000 lines ({large_time:.0f} s): x{growth:.3f} "
        f"(goal <= 1.10, flat) {'ok' if growth <= 1.10 else 'MISSED'}"
    )


def main() -> None:
    throughput()
    memory()


if __name__ == "__main__":
    main()
