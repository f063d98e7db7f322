"""The machine's conditions during a replay, saved with a baseline, and what differs later.

Times taken on a machine that other processes load, on another number of CPUs or another
Python or Django are not those of the baseline's: a comparison says so (one line each), and
leaves the verdict to be read with that in mind.
"""

from __future__ import annotations

import os
from typing import Any

LOAD_PER_CPU_DIFFERENCE = 0.5  # of the 1-minute load average per usable CPU


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages, or None where the platform has none."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def usable_cpu_count() -> int | None:
    """The CPUs this process may run on, where the platform says (not macOS)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def machine_conditions(
    load_start: list[float] | None, load_end: list[float] | None
) -> dict[str, Any]:
    """What a baseline records of the machine: the load averages at the start and the end of
    the replay, the CPUs, and the versions of Python and Django."""
    import platform

    import django

    return {
        "load_start": load_start,
        "load_end": load_end,
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpu_count(),
        "python": platform.python_version(),
        "django": django.get_version(),
    }


def condition_warnings(baseline: Any, current: dict[str, Any]) -> list[str]:
    """One line for each way the machine differed from the baseline's: the load per CPU by
    more than ``LOAD_PER_CPU_DIFFERENCE``, the number of CPUs, the versions. Nothing for a
    baseline that did not record them."""
    if not isinstance(baseline, dict):
        return []
    warnings = []
    before, after = _load_per_cpu(baseline), _load_per_cpu(current)
    if before is not None and after is not None and abs(after - before) > LOAD_PER_CPU_DIFFERENCE:
        busier = "busier" if after > before else "less busy"
        warnings.append(
            f"The machine was {busier} than when the baseline was saved (load average "
            f"{after:.2f} per CPU, against {before:.2f}): other processes' work lengthens wall "
            "times much more than CPU times."
        )
    for key, what in (("cpu_count", "CPUs"), ("usable_cpus", "usable CPUs")):
        old, new = baseline.get(key), current.get(key)
        if old is not None and new is not None and old != new:
            warnings.append(f"The baseline was saved with {old} {what}, this replay had {new}.")
    for key, what in (("python", "Python"), ("django", "Django")):
        old, new = baseline.get(key), current.get(key)
        if old and new and old != new:
            warnings.append(f"The baseline was saved with {what} {old}, this replay ran {new}.")
    return warnings


def _load_per_cpu(conditions: dict[str, Any]) -> float | None:
    """The 1-minute load average, the mean of the replay's start and end, per usable CPU."""
    loads = [
        load[0]
        for load in (conditions.get("load_start"), conditions.get("load_end"))
        if isinstance(load, list) and load and isinstance(load[0], (int, float))
    ]
    cpus = conditions.get("usable_cpus") or conditions.get("cpu_count")
    if not loads or not isinstance(cpus, int) or cpus < 1:
        return None
    return sum(loads) / len(loads) / cpus
