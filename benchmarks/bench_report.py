"""Report generation for a big run: about 2,000 queries and 10,000 profiler samples.

Goal: under 0.5 s for the report itself (the one-page report, JSON, SQL listing and index).
pyinstrument's own renderers (its HTML page, embedded in the report, and speedscope) are timed
apart on the same session: they rebuild the frame tree from every sample, which dominates on
Django's deep stacks. The run is real: the demo's N+1 page profiled five times (420 queries
each) with a sampling interval fine enough for about 10,000 samples.

Run with ``make bench`` (or ``python -m benchmarks.bench_report`` from the repository root).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._common import setup_demo_django

ROUNDS = 5


def main() -> None:
    setup_demo_django()
    from pyinstrument.renderers import HTMLRenderer, SpeedscopeRenderer

    from django_profilecmds import profile_request
    from django_profilecmds.reports.files import prepare_output_dir, write_reports

    result = profile_request("/listings/", repeat=5, interval=0.0003)
    session = result.calltree
    assert session is not None
    samples, queries = session.sample_count, len(result.queries)

    start = time.perf_counter()
    pages = HTMLRenderer().render(session), SpeedscopeRenderer().render(session)
    library = time.perf_counter() - start
    # From here on pyinstrument's renderers return the pages they made above, so the rounds
    # time what this project adds (and the writing of those pages).
    HTMLRenderer.render = lambda self, session: pages[0]  # type: ignore[method-assign]
    SpeedscopeRenderer.render = lambda self, session: pages[1]  # type: ignore[method-assign]
    timings = []
    for _ in range(ROUNDS):
        directory = prepare_output_dir(Path(tempfile.mkdtemp()))
        result.files = {}
        start = time.perf_counter()
        write_reports(result, directory)
        timings.append(time.perf_counter() - start)
    ours = statistics.median(timings)
    verdict = "ok" if ours < 0.5 else "MISSED"
    print(
        f"report for {queries} queries and {samples} samples: {ours:.3f} s of our own "
        f"(goal < 0.5 s) {verdict}, median of {ROUNDS} rounds (min {min(timings):.3f}, max "
        f"{max(timings):.3f}); pyinstrument's HTML + speedscope renderers: {library:.3f} s more"
    )


if __name__ == "__main__":
    main()
