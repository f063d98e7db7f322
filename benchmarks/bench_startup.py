"""Start-up: ``manage.py profile_view --help`` against ``manage.py help``, as whole processes.

Goal: at most 1.15x, so heavy imports (pyinstrument, line_profiler) stay lazy.

Run with ``make bench`` (or ``python -m benchmarks.<name>`` from the repository root).
"""

from __future__ import annotations

import subprocess
import time

from benchmarks._common import MANAGE, demo_environment, interleaved, report

ROUNDS = 12


def main() -> None:
    env = demo_environment()

    def timed(*args: str) -> float:
        start = time.perf_counter()
        subprocess.run([*MANAGE, *args], env=env, check=True, capture_output=True)
        return time.perf_counter() - start

    ratio, base, cand = interleaved(
        ROUNDS, lambda: timed("help"), lambda: timed("profile_view", "--help")
    )
    report("manage.py profile_view --help vs manage.py help", ratio, 1.15, base, cand)


if __name__ == "__main__":
    main()
