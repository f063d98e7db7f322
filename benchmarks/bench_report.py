"""Report generation for a big run: 2,090 queries and 10,000 profiler samples.

Goal: under 0.5 s for everything a run writes by default: the one-page report with
pyinstrument's call tree in it, that page alone, the JSON result, the SQL listing and the
refreshed index. The run is real: the demo's N+1 page profiled five times (418 queries each)
with a sampling interval fine enough for more than 10,000 samples, cut to the first 10,000.
The speedscope file (on request, the samples in time order) is timed apart for reference.

Run with ``make bench`` (or ``python -m benchmarks.bench_report`` from the repository root).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._common import setup_demo_django

ROUNDS = 11
SAMPLES = 10_000


def main() -> None:
    setup_demo_django()
    from pyinstrument.renderers import SpeedscopeRenderer
    from pyinstrument.session import Session

    from django_profilecmds import profile_request
    from django_profilecmds.reports.files import prepare_output_dir, write_reports

    result = profile_request("/listings/", repeat=5, interval=0.0002)
    full = result.calltree
    assert full is not None and len(full.frame_records) >= SAMPLES, "too few samples"
    session = Session.from_json({**full.to_json(), "sample_count": SAMPLES})
    session.frame_records = session.frame_records[:SAMPLES]
    result.calltree = session
    depth = sum(len(stack) for stack, _time in session.frame_records) / SAMPLES
    timings = []
    for _ in range(ROUNDS):
        directory = prepare_output_dir(Path(tempfile.mkdtemp()))
        result.files = {}
        start = time.perf_counter()
        write_reports(result, directory)
        timings.append(time.perf_counter() - start)
    start = time.perf_counter()
    SpeedscopeRenderer().render(session)
    speedscope = time.perf_counter() - start
    median = statistics.median(timings)
    print(
        f"report for {len(result.queries)} queries and {SAMPLES} samples ({depth:.0f} frames "
        f"deep on average): {median:.3f} s (goal < 0.5 s) {'ok' if median < 0.5 else 'MISSED'}, "
        f"median of {ROUNDS} rounds (min {min(timings):.3f}, max {max(timings):.3f}); "
        f"the speedscope file, on request: {speedscope:.3f} s more"
    )


if __name__ == "__main__":
    main()
