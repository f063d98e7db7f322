"""Saved samples and before/after verdicts: did a change make a view faster, slower, or neither?

A saved file holds, per key (a view of a replay, or the request of a ``profile_view`` run), the
wall-time samples and query counts, and for a replay the CPU and database time of the same
requests (files saved before those were kept have wall times only: those metrics are then
unavailable). Comparing two files tests each key's samples of one metric (see :mod:`.metrics`)
with the Mann-Whitney U test: a shift counts only when it is significant at ``alpha`` *and* the
medians moved by at least ``min_change`` (relative), the run-to-run noise of timing a view on a
developer machine; smaller shifts are "no significant change" however small the p-value. The
medians of the other metrics are reported beside it.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django_profilecmds.analysis.metrics import SAMPLE_FIELDS, WALL
from django_profilecmds.analysis.stats import mann_whitney_u
from django_profilecmds.exceptions import ProfileCmdsError

FORMAT = "django-profilecmds/samples"
VERSION = 1
DEFAULT_ALPHA = 0.01
DEFAULT_MIN_CHANGE = 0.05

FASTER = "faster"
SLOWER = "slower"
NO_CHANGE = "no significant change"
ONLY_BEFORE = "not in this run"
ONLY_AFTER = "new in this run"


@dataclass(frozen=True)
class Change:
    key: str
    verdict: str
    n_before: int = 0
    n_after: int = 0
    # Of the metric the verdict is on:
    median_before: float | None = None
    median_after: float | None = None
    change: float | None = None  # relative change of the median time (-0.25 = 25% faster)
    queries_before: float | None = None  # per request
    queries_after: float | None = None
    p_value: float | None = None
    u: float | None = None
    baseline_key: str | None = None  # when the two files each held one, differently named
    metric: str = WALL
    # The medians of every metric, None where a file has no samples of it.
    wall_before: float | None = None
    wall_after: float | None = None
    cpu_before: float | None = None
    cpu_after: float | None = None
    db_before: float | None = None
    db_after: float | None = None


def verdict(
    before: list[float],
    after: list[float],
    alpha: float = DEFAULT_ALPHA,
    min_change: float = DEFAULT_MIN_CHANGE,
) -> tuple[str, float, float, float]:
    """``(verdict, relative change of the medians, p-value, U)`` for two samples of times."""
    test = mann_whitney_u(before, after)
    median_before = statistics.median(before)
    median_after = statistics.median(after)
    change = (median_after - median_before) / median_before if median_before else 0.0
    if test.p_value < alpha and abs(change) >= min_change:
        return (FASTER if change < 0 else SLOWER), change, test.p_value, test.u
    return NO_CHANGE, change, test.p_value, test.u


def compare(
    baseline: dict[str, Any],
    current: dict[str, Any],
    alpha: float = DEFAULT_ALPHA,
    min_change: float = DEFAULT_MIN_CHANGE,
    metric: str = WALL,
) -> list[Change]:
    """Compare two saved documents (see :func:`samples_document`) key by key, the verdict
    taken on ``metric`` (``wall`` or ``cpu``; both files must hold its samples).

    When each holds exactly one key under different names (``/books/`` against
    ``/books/fast/``), those two are compared.
    """
    field_name = SAMPLE_FIELDS[metric]
    before: dict[str, Any] = baseline["entries"]
    after: dict[str, Any] = current["entries"]
    pairs: list[tuple[str, str | None, str | None]]
    if len(before) == len(after) == 1 and before.keys() != after.keys():
        (only_before,), (only_after,) = before.keys(), after.keys()
        pairs = [(only_after, only_before, only_after)]
    else:
        pairs = [(key, key if key in before else None, key) for key in after]
        pairs += [(key, key, None) for key in before if key not in after]
    changes = []
    for key, old, new in pairs:
        if old is None:
            assert new is not None
            changes.append(_one_sided(key, ONLY_AFTER, after[new], True, metric))
        elif new is None:
            changes.append(_one_sided(key, ONLY_BEFORE, before[old], False, metric))
        else:
            first, second = before[old], after[new]
            wall_before, cpu_before, db_before = _medians(first)
            wall_after, cpu_after, db_after = _medians(second)
            outcome, change, p_value, u = verdict(
                first[field_name], second[field_name], alpha, min_change
            )
            changes.append(
                Change(
                    key=key,
                    verdict=outcome,
                    n_before=len(first["samples"]),
                    n_after=len(second["samples"]),
                    median_before=statistics.median(first[field_name]),
                    median_after=statistics.median(second[field_name]),
                    change=change,
                    queries_before=first["queries_per_request"],
                    queries_after=second["queries_per_request"],
                    p_value=p_value,
                    u=u,
                    baseline_key=old if old != key else None,
                    metric=metric,
                    wall_before=wall_before,
                    wall_after=wall_after,
                    cpu_before=cpu_before,
                    cpu_after=cpu_after,
                    db_before=db_before,
                    db_after=db_after,
                )
            )
    order = {SLOWER: 0, FASTER: 1, NO_CHANGE: 2, ONLY_AFTER: 3, ONLY_BEFORE: 4}
    changes.sort(key=lambda c: (order[c.verdict], -abs(c.change or 0.0)))
    return changes


def _one_sided(
    key: str, outcome: str, entry: dict[str, Any], after_side: bool, metric: str
) -> Change:
    samples = entry.get(SAMPLE_FIELDS[metric]) or entry["samples"]
    median = statistics.median(samples) if samples else None
    queries = entry["queries_per_request"]
    count = len(entry["samples"])
    wall, cpu, db = _medians(entry)
    if after_side:
        return Change(
            key,
            outcome,
            n_after=count,
            median_after=median,
            queries_after=queries,
            metric=metric,
            wall_after=wall,
            cpu_after=cpu,
            db_after=db,
        )
    return Change(
        key,
        outcome,
        n_before=count,
        median_before=median,
        queries_before=queries,
        metric=metric,
        wall_before=wall,
        cpu_before=cpu,
        db_before=db,
    )


def _medians(entry: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
    """The medians of the wall, CPU and database times that ``entry`` holds samples of."""
    medians = []
    for field_name in (SAMPLE_FIELDS["wall"], SAMPLE_FIELDS["cpu"], SAMPLE_FIELDS["db"]):
        samples = entry.get(field_name)
        medians.append(statistics.median(samples) if samples else None)
    return medians[0], medians[1], medians[2]


def samples_document(
    kind: str, source: str, entries: dict[str, dict[str, Any]], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What ``--save`` writes: per key, ``samples`` (seconds) and ``queries_per_request``,
    with the project's git commit and settings, so a later ``--compare`` knows what it holds."""
    import os
    from datetime import datetime

    from django_profilecmds.reports.html import git_commit
    from django_profilecmds.summaries import environment

    return {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "source": source,
        "created": datetime.now().isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "settings": os.environ.get("DJANGO_SETTINGS_MODULE", ""),
        "environment": environment(),
        "entries": entries,
        **(extra or {}),
    }


def save_samples(path: Path, document: dict[str, Any]) -> Path:
    """Write ``--save``'s file by rename (0600; a link at ``path`` is replaced, not followed)."""
    from django_profilecmds.reports.safewrite import write_file

    marker = f'"format": {json.dumps(FORMAT)}'.encode()
    return write_file(path, json.dumps(document) + "\n", marker, "--save")


def load_samples(path: Path) -> dict[str, Any]:
    """Read a file written by ``--save``; a clear error for anything else."""
    from django_profilecmds.limits import MAX_BASELINE, InputTooLarge, read_text_limited

    try:
        text = read_text_limited(path, MAX_BASELINE)
    except InputTooLarge as exc:
        raise ProfileCmdsError(
            f"--compare: {path} is {exc}, far more than --save writes; is it the right file?"
        ) from None
    except FileNotFoundError:
        raise ProfileCmdsError(f"--compare: {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileCmdsError(f"--compare: cannot read {path}: {exc}.") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ProfileCmdsError(f"--compare: {path} is not JSON ({exc}).") from None
    except RecursionError:
        raise ProfileCmdsError(f"--compare: {path} is not JSON (nested too deeply).") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ProfileCmdsError(
            f"--compare: {path} is not a file written by --save (of profile_replay or "
            "profile_view)."
        )
    if document.get("version") != VERSION:
        raise ProfileCmdsError(
            f"--compare: {path} has version {document.get('version')!r} of the samples format; "
            f"this version reads {VERSION}."
        )
    problem = _malformed(document.get("entries"))
    if problem is not None:
        raise ProfileCmdsError(f"--compare: {path} has malformed entries: {problem}.")
    return document


def _malformed(entries: Any) -> str | None:
    """What is wrong with the entries of a saved file, or None: each needs a non-empty list of
    ``samples`` (seconds) and a ``queries_per_request``, and may have ``cpu_samples`` and
    ``db_samples`` (seconds, non-empty), all finite numbers of 0 or more."""
    if not isinstance(entries, dict):
        return 'there is no "entries" object'
    for key, entry in entries.items():
        name = repr(key[:80])
        if not isinstance(entry, dict):
            return f"{name} is not an object"
        samples = entry.get("samples")
        if not isinstance(samples, list) or not samples:
            return f'{name} has no "samples" list with a sample in it'
        for field_name in SAMPLE_FIELDS.values():
            if field_name not in entry:  # saved before CPU and database times were kept
                continue
            values = entry[field_name]
            if not isinstance(values, list) or not values:
                return f'{name} has no "{field_name}" list with a sample in it'
            what = "sample" if field_name == "samples" else field_name.replace("_", " ")[:-1]
            for index, value in enumerate(values, start=1):
                if not _finite_non_negative(value):
                    return (
                        f"{what} {index} of {name} is {_described(value)}, not a finite number "
                        "of seconds of 0 or more"
                    )
        queries = entry.get("queries_per_request")
        if not _finite_non_negative(queries):
            return (
                f'the "queries_per_request" of {name} is {_described(queries)}, not a finite '
                "number of 0 or more"
            )
    return None


def _finite_non_negative(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value)) and value >= 0
    except OverflowError:  # an integer too large for a float
        return False


def _described(value: Any) -> str:
    if value is None:
        return "missing or null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return repr(value) if len(repr(value)) <= 30 else "a number too large"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def check_alpha(alpha: float, min_change: float) -> None:
    from django_profilecmds.exceptions import InvalidOption

    if not 0 < alpha < 1:
        raise InvalidOption(f"--alpha is a probability in (0, 1), got {alpha}.")
    if not 0 <= min_change < 1:
        raise InvalidOption(f"--min-change is a fraction in [0, 1), got {min_change}.")


def run_entries(result: Any) -> dict[str, dict[str, Any]]:
    """What ``profile_view --save`` keeps of a run: the wall time of every counted run."""
    runs = result.runs
    return {
        result.spec.title.split("?", 1)[0]: {
            "function": result.view,
            "requests": len(runs),
            "samples": [run.wall for run in runs],
            "queries_per_request": sum(run.queries for run in runs) / max(len(runs), 1),
            "errors": sum(1 for run in runs if run.status is None or run.status >= 500),
        }
    }
