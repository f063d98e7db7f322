"""The times a replay keeps of each request, and which of them a saved file holds.

``wall``: the request's wall time; ``cpu``: the CPU time of the thread that ran it (see
:mod:`..collectors.timing`), which the load of other processes does not inflate; ``db``: the
durations of its queries, summed.
"""

from __future__ import annotations

from typing import Any

WALL = "wall"
CPU = "cpu"
METRICS = (WALL, CPU)
# The samples a saved file holds per key, by metric (database time is shown, never a verdict).
SAMPLE_FIELDS = {WALL: "samples", CPU: "cpu_samples", "db": "db_samples"}
METRIC_NAMES = {WALL: "wall time", CPU: "CPU time", "db": "database time"}


def missing_metrics(document: dict[str, Any]) -> list[str]:
    """The metrics (``cpu``, ``db``) that a saved file lacks for some key: files saved before
    they were recorded have wall times only."""
    entries = document.get("entries") or {}
    return [
        metric
        for metric in ("cpu", "db")
        if any(SAMPLE_FIELDS[metric] not in entry for entry in entries.values())
    ]
