"""Shared set-up for the benchmarks: the demo project on a seeded throwaway database."""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo_site"
MANAGE = [sys.executable, str(DEMO / "manage.py")]


def demo_environment() -> dict[str, str]:
    """Migrate and seed a demo database in a temporary file; return the env that uses it."""
    path = Path(tempfile.mkdtemp(prefix="profilecmds-bench-")) / "demo.sqlite3"
    env = {**os.environ, "DEMO_DATABASE_PATH": str(path)}
    for command in (["migrate", "--verbosity", "0"], ["seed_demo"]):
        subprocess.run([*MANAGE, *command], env=env, check=True, capture_output=True)
    return env


def setup_demo_django() -> None:
    """Seed a throwaway demo database and configure Django in this process to use it."""
    os.environ.update(demo_environment())
    setup_django()


def setup_django() -> None:
    """Configure Django in this process for the demo project, on the database the environment
    names (``DEMO_DATABASE_PATH``)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_site.settings")
    sys.path.insert(0, str(DEMO))
    import django

    django.setup()


def bare_handler() -> tuple[Any, Any]:
    """Django's handler with the project's middleware, and a RequestFactory: the baseline."""
    from django.core.handlers.base import BaseHandler
    from django.test import RequestFactory

    handler = BaseHandler()
    handler.load_middleware()
    return handler, RequestFactory()


def interleaved(
    rounds: int, baseline: Callable[[], float], candidate: Callable[[], float]
) -> tuple[float, list[float], list[float]]:
    """Alternate the two measurements (order flipped every round) so machine noise hits both;
    return the median of the per-round ratios (each pair ran back to back, so slow drifts of
    the machine cancel out) and the raw figures."""
    base: list[float] = []
    cand: list[float] = []

    def measure(function: Callable[[], float]) -> float:
        gc.collect()  # each side starts without the other's garbage to collect
        return function()

    for index in range(rounds):
        if index % 2:
            cand.append(measure(candidate))
            base.append(measure(baseline))
        else:
            base.append(measure(baseline))
            cand.append(measure(candidate))
    ratios = [c / b for b, c in zip(base, cand, strict=True)]
    return statistics.median(ratios), base, cand


def report(
    name: str, ratio: float, goal: float | None, base: list[float], cand: list[float]
) -> None:
    spread = (max(cand) - min(cand)) / statistics.median(cand)
    if goal is None:
        verdict = "(reference, no goal)"
    else:
        verdict = f"(goal <= {goal}) {'ok' if ratio <= goal else 'MISSED'}"
    print(
        f"{name}: ratio {ratio:.3f} {verdict}; "
        f"baseline median {statistics.median(base) * 1000:.1f} ms, "
        f"candidate median {statistics.median(cand) * 1000:.1f} ms, "
        f"candidate spread {spread:.0%} over {len(cand)} rounds"
    )
