"""profile_traffic: throughput on a long nginx log, and memory that does not grow with it.

* Throughput: lines per second of ``analyse_traffic()`` (read, parse the time and the response
  time, resolve the path to its view, window) on a 1,000,000-line nginx log with
  ``$request_time $upstream_response_time``, in a child process. Goal: at least 100,000 lines/s.
* Memory: peak RSS of that child at 100,000 and at 1,000,000 lines spread over the same day
  (the same windows x views): flat, the 1,000,000-line peak within 10% of the 100,000-line one.

Run with ``make bench`` (or ``python -m benchmarks.bench_traffic`` from the repository root).
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchmarks._common import ROOT, demo_environment

PATHS = [
    "/",
    "/listings/",
    "/listings/?page=2",
    "/api/listings/",
    "/api/listings/stats/",
    "/account/",
    "/health/",
    "/static/shop.css",
    "/listings/17/",
]
DAY = 24 * 3600


def write_log(path: Path, lines: int) -> None:
    """``lines`` requests spread evenly over one day, in time order."""
    rng = random.Random(lines)
    start = datetime(2026, 11, 20, tzinfo=timezone.utc)
    step = DAY / lines
    stamp = ""
    second = -1
    with path.open("w") as handle:
        for index in range(lines):
            moment = int(index * step)
            if moment != second:
                second = moment
                stamp = (start + timedelta(seconds=moment)).strftime("%d/%b/%Y:%H:%M:%S +0000")
            request_time = rng.uniform(0.005, 0.3)
            handle.write(
                f'203.0.113.{index % 250} - - [{stamp}] "GET {rng.choice(PATHS)} HTTP/1.1" 200 '
                f'{rng.randint(200, 40000)} "https://shop.example.com/" "Mozilla/5.0 (X11; Linux '
                f'x86_64; rv:132.0) Gecko/20100101 Firefox/132.0" {request_time:.3f} '
                f"{request_time * 0.9:.3f}\n"
            )


def measure(log: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Peak RSS (MB), seconds and requests of analyse_traffic() on ``log``, in a child."""
    code = (
        "import sys, time, resource; sys.path.insert(0, 'demo_site');"
        "import django; django.setup();"
        "from django_profilecmds import analyse_traffic;"
        "start = time.perf_counter();"
        f"analysis = analyse_traffic([{str(log)!r}]);"
        "seconds = time.perf_counter() - start;"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, seconds, analysis.lines)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "demo_site.settings"},
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    rss_kb, seconds, lines = done.stdout.split()
    return int(rss_kb) / 1024, float(seconds), int(lines)


def main() -> None:
    env = demo_environment()
    directory = Path(tempfile.mkdtemp(prefix="profilecmds-traffic-"))
    results = {}
    for lines in (100_000, 1_000_000):
        log = directory / f"access-{lines}.log"
        write_log(log, lines)
        results[lines] = measure(log, env)
        log.unlink()
    small_rss, small_s, _ = results[100_000]
    large_rss, large_s, large_lines = results[1_000_000]
    rate = large_lines / large_s
    growth = large_rss / small_rss
    print(
        f"profile_traffic throughput: {rate:,.0f} lines/s on 1,000,000 nginx lines "
        f"({large_s:.1f} s; goal >= 100,000) {'ok' if rate >= 100_000 else 'MISSED'}"
    )
    print(
        f"profile_traffic peak memory: {small_rss:.1f} MB at 100,000 lines ({small_s:.1f} s), "
        f"{large_rss:.1f} MB at 1,000,000: x{growth:.3f} (goal <= 1.10, flat) "
        f"{'ok' if growth <= 1.10 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
