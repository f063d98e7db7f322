"""The one-page HTML report of a run, and ``index.html`` listing every run in a directory.

Rendered by Django's own template engine from the package's templates, with a standalone
``Engine`` so the project's TEMPLATES setting does not matter. Everything is inline: the page
opens from ``file://`` with no network access.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.template import Engine

    from django_profilecmds.result import RunResult

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=1)
def engine() -> Engine:
    from django.template import Engine

    return Engine(dirs=[str(TEMPLATES)], autoescape=True)


@lru_cache(maxsize=1)
def git_commit() -> str:
    """The short commit of the project's checkout, if it is one."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=2
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def timing_chart(walls: list[float], width: int = 480, height: int = 80) -> dict[str, Any]:
    """Bars for each counted run, as SVG geometry (the template draws them)."""
    top = max(walls) or 1.0
    step = width / max(len(walls), 1)
    bars = [
        {
            "x": round(index * step + 1, 1),
            "width": round(max(step - 2, 1), 1),
            "height": round(wall / top * (height - 14), 1),
            "y": round(height - wall / top * (height - 14), 1),
            "label": f"run {index + 1}: {wall * 1000:.1f} ms",
        }
        for index, wall in enumerate(walls)
    ]
    return {"width": width, "height": height, "bars": bars, "max_ms": round(top * 1000, 1)}


def render_report(
    result: RunResult,
    data: dict[str, Any],
    calltree_html: str | None,
    mask: Callable[[str], str] = str,
) -> str:
    """The report page. ``data`` is the redacted ``result.to_dict()``; ``mask`` redacts what
    is drawn from ``result`` itself (cProfile's table)."""
    sql = data.get("sql") or {}
    runs = max(len(data["runs"]), 1)
    total_db = sql.get("duration") or 0.0
    groups = [
        {
            **group,
            "per_run": round(group["count"] / runs),
            "duplicates_per_run": round(group["duplicates"] / runs),
            "ms": group["duration"] / runs * 1000,
            "share": 100 * group["duration"] / total_db if total_db else 0.0,
            "origin": max(group["origins"], key=group["origins"].get) if group["origins"] else "",
        }
        for group in sql.get("groups", [])[:50]
    ]
    lines = [
        {
            **entry,
            "total_ms": entry["total"] * 1000,
            "rows": [
                {**row, "ms": row["time"] * 1000, "heat": min(row["percent"] / 100, 1.0)}
                for row in entry["rows"]
            ],
        }
        for entry in data.get("lines", [])
    ]
    context = {
        "title": data["title"],
        "data": data,
        "who": who(data),
        "environment": {**data["environment"], "git commit": git_commit()},
        "chart": timing_chart([run["wall"] for run in data["runs"]]),
        "wall_ms": {k: v * 1000 for k, v in data["wall"].items() if k != "count"},
        "db_ms": data["db_time"] * 1000,
        "cpu_ms": data["cpu"]["median"] * 1000,
        "groups": groups,
        "nplusone": [{**flag, "ms": flag["duration"] * 1000} for flag in sql.get("nplusone", [])],
        "explains": sql.get("explains", []),
        "lines": lines,
        "calltree_srcdoc": srcdoc(calltree_html) if calltree_html else None,
        "function_stats": mask(_function_stats_text(result)),
        "comparison": comparison_rows(data.get("comparison", [])),
        "caches": [
            {
                **stats,
                **{f"{key}_per_run": round(stats[key] / runs) for key in _CACHE_COUNTS},
                "ms": stats["time"] / runs * 1000,
            }
            for stats in data.get("caches", [])
        ],
    }
    return engine().get_template("django_profilecmds/report.html").render(_context(context))


_CACHE_COUNTS = ("gets", "hits", "misses", "sets", "deletes")


def srcdoc(page: str) -> Any:
    """``page`` as the value of a double-quoted ``srcdoc`` attribute. Only ``&`` and ``"`` need
    escaping there; pyinstrument's page is megabytes, where each full escape pass counts."""
    from django.utils.safestring import mark_safe

    return mark_safe(page.replace("&", "&amp;").replace('"', "&quot;"))


def _function_stats_text(result: RunResult) -> str:
    if result.function_stats is None:
        return ""
    from django_profilecmds.reports.text import render_function_stats

    return render_function_stats(result, limit=40)


def _context(values: dict[str, Any]) -> Any:
    from django.template import Context

    return Context(values)


def render_index(directory: Path) -> str:
    """A sortable table of every run whose JSON result is in ``directory``, newest first.

    A run's JSON starts with its row (``"index_row"``), so only the start of each file is read:
    the index is rewritten after every run, and a directory collects hundreds of megabytes.
    """
    runs = []
    replays: list[dict[str, Any]] = []
    analyses: list[dict[str, Any]] = []
    against: list[dict[str, Any]] = []
    for path in directory.glob("*.json"):
        if path.name.endswith(".speedscope.json"):
            continue
        row = _leading_row(path)
        if row is None:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("kind") == "replay" and "replay" in data:
                replays.append(_replay_row(path, data))
                continue
            if isinstance(data, dict) and data.get("kind") == "traffic" and "traffic" in data:
                analyses.append(_traffic_row(path, data))
                continue
            if isinstance(data, dict) and data.get("kind") == "against" and "verdicts" in data:
                against.append(_against_row(path, data))
                continue
            if not isinstance(data, dict) or "spec" not in data or "wall" not in data:
                continue
            row = index_row(data)
        report = path.with_suffix(".html")
        runs.append({**row, "report": report.name if report.exists() else "", "json": path.name})
    runs.sort(key=lambda run: run["created"], reverse=True)
    replays.sort(key=lambda replay: replay["created"], reverse=True)
    analyses.sort(key=lambda analysis: analysis["created"], reverse=True)
    against.sort(key=lambda row: row["created"], reverse=True)
    listed = {"runs": runs, "replays": replays, "analyses": analyses, "against": against}
    return engine().get_template("django_profilecmds/index.html").render(_context(listed))


INDEX_ROW_START = '{"index_row": '


def index_row(data: dict[str, Any]) -> dict[str, Any]:
    """What ``index.html`` shows of one run (``data`` is the redacted result dict)."""
    return {
        "created": data.get("created", ""),
        "kind": run_kind(data),
        "title": data.get("title", ""),
        "user": who(data),
        "driver": data.get("driver", ""),
        "status": data.get("status"),
        "failed": data.get("failed", False),
        "wall_ms": data["wall"]["median"] * 1000,
        "queries": data.get("query_count", 0),
        "nplusone": len((data.get("sql") or {}).get("nplusone", [])),
        "compared": _verdicts(data.get("comparison") or []),
    }


def who(data: dict[str, Any]) -> str:
    """Who the request of a run (its result dict) turned out to be; nothing for a run that
    sent no request (a call, a command)."""
    from django_profilecmds.reports.text import identity_text

    if not (data.get("spec") or {}).get("request"):
        return ""
    identity = data.get("identity") or {}
    return identity_text(identity.get("label"), data.get("user"))


def run_kind(data: dict[str, Any]) -> str:
    """The command that makes runs like this one (its result dict): lineprof, profile_view
    (a request, from the API too), profile_call or profile_command."""
    spec = data.get("spec") or {}
    if spec.get("lines"):
        return "lineprof"
    if spec.get("request"):
        return "profile_view"
    return "profile_call" if spec.get("call") else "profile_command"


def _leading_row(path: Path) -> dict[str, Any] | None:
    """The index row a run's JSON starts with, read from the file's first 64 KiB."""
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(64 * 1024)
    except (OSError, ValueError):
        return None
    if not head.startswith(INDEX_ROW_START):
        return None
    try:
        row, _end = json.JSONDecoder().raw_decode(head, len(INDEX_ROW_START))
    except ValueError:
        return None
    return row if isinstance(row, dict) and "created" in row else None


def _replay_row(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    replay = data["replay"]
    views = list(replay.get("views", {}).values())
    report = path.with_suffix(".html")
    return {
        "created": data.get("created", ""),
        "source": data.get("source", ""),
        "requests": replay.get("replayed", 0),
        "views": len({view.get("view_name") or view["view"] for view in views}),
        "total_s": replay.get("total_time", 0.0),
        "top": views[0]["view"] if views else "",
        "top_share": 100 * views[0]["share"] if views else 0.0,
        "nplusone": sum(1 for view in views if view.get("flagged_requests")),
        "comparison": _verdicts(data.get("comparison") or []),
        "report": report.name if report.exists() else "",
        "json": path.name,
    }


def _verdicts(comparison: list[dict[str, Any]]) -> str:
    """``faster -23%`` for one comparison; ``2 faster, 5 no significant change`` for many."""
    if len(comparison) == 1:
        change = comparison[0]
        delta = f" {100 * change['change']:+.0f}%" if change.get("change") is not None else ""
        return f"{change['verdict']}{delta}"
    verdicts: dict[str, int] = {}
    for change in comparison:
        verdicts[change["verdict"]] = verdicts.get(change["verdict"], 0) + 1
    return ", ".join(f"{n} {verdict}" for verdict, n in sorted(verdicts.items()))


def _against_row(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """An A/B replay (``--against``): what was compared, and the views that changed (the
    strings of the saved document: this module is imported by the analyses that make them)."""
    rows = [row for row in data["verdicts"] if row.get("view") != "(all requests)"]
    changed = [row for row in rows if row.get("verdict") in ("slower", "faster")]
    overall: dict[str, Any] = next(
        (row for row in data["verdicts"] if row.get("view") == "(all requests)"), {}
    )
    return {
        "created": data.get("created", ""),
        "source": data.get("source", ""),
        "revision": f"{data.get('described', '')} ({data.get('revision', '')})",
        "pairs": data.get("pairs", 0),
        "rounds": data.get("rounds", 0),
        "metric": data.get("metric", ""),
        "changed": ", ".join(
            f"{row['view']} {row['verdict']} {100 * row['change']:+.0f}%" for row in changed
        ),
        "unchanged": len(rows) - len(changed),
        "overall": (
            f"{overall['verdict']} {100 * overall['change']:+.0f}%"
            if overall.get("verdict")
            else ""
        ),
        "json": path.name,
    }


def render_replay_report(data: dict[str, Any]) -> str:
    """The page of one replay: views (or groups) ranked by share, the comparison, what was
    left out."""
    from django_profilecmds.analysis.grouping import column_title, describe_grouping
    from django_profilecmds.analysis.viewstats import ranked_nplusone
    from django_profilecmds.reports.replaytext import (
        IN_JSON,
        NPLUSONE_SHOWN,
        dig_command,
        left_out,
    )
    from django_profilecmds.reports.text import printable_data

    data = printable_data(data)  # paths and lines that are not requests come from the traffic
    replay = data["replay"]
    group_by = replay.get("group_by", "view")
    views = []
    for view in replay["views"].values():
        origins = ranked_nplusone(view["nplusone"])
        hidden = len(origins) - NPLUSONE_SHOWN
        views.append(
            {
                **view,
                "share_pct": 100 * view["share"],
                "mean_ms": view["mean"] * 1000,
                "p50_ms": view["p50"] * 1000,
                "p95_ms": view["p95"] * 1000,
                "cpu_p50_ms": _ms(view.get("cpu_p50")),  # None in a report of an older version
                "db_p50_ms": _ms(view.get("db_p50")),
                "command": dig_command(
                    view["slowest"]["method"], view["slowest"]["path"], data.get("user")
                ),
                "nplusone_origins": origins[:NPLUSONE_SHOWN],
                "nplusone_left_out": left_out(hidden, IN_JSON) if hidden > 0 else "",
            }
        )
    comparison = comparison_rows(data.get("comparison", []))
    context = {
        "data": data,
        "replay": replay,
        "views": views,
        "view_count": len({view.get("view_name") or view["view"] for view in views}),
        "column": column_title(group_by),
        "grouping": (
            describe_grouping(group_by, replay.get("path_segments", 1))
            if group_by != "view"
            else ""
        ),
        "comparison": comparison,
        "comparison_measures": any(
            value != "-" for row in comparison for value in row["measures"][1:]
        ),
        "environment": {**data.get("environment", {}), "git commit": data.get("git_commit", "")},
        "not_found": [
            {"prefix": prefix, "count": count, "examples": replay["not_found_examples"][prefix]}
            for prefix, count in replay["not_found"].items()
        ],
    }
    return engine().get_template("django_profilecmds/replay.html").render(_context(context))


def comparison_rows(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes as the page shows them; a replay's also carry the relative change of its
    wall, CPU and database time (``measures``), whichever the verdict is on."""
    from django_profilecmds.reports.text import relative

    return [
        {
            **change,
            "before_ms": _ms(change["median_before"]),
            "after_ms": _ms(change["median_after"]),
            "change_pct": 100 * change["change"] if change["change"] is not None else None,
            "metric_title": "CPU" if change.get("metric") == "cpu" else "wall",
            "measures": [  # as the terminal writes them: "+12.5%", "-" when a side has none
                relative(change.get(f"{name}_before"), change.get(f"{name}_after"))
                for name in ("wall", "cpu", "db")
            ],
        }
        for change in changes
    ]


def _ms(seconds: float | None) -> float | None:
    return seconds * 1000 if seconds is not None else None


def _traffic_row(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    traffic = data["traffic"]
    drivers = [
        result
        for result in traffic.get("results", [])
        if result.get("significant") and (result.get("r") or 0) > 0
    ]
    report = path.with_suffix(".html")
    return {
        "created": data.get("created", ""),
        "source": data.get("source", ""),
        "requests": traffic.get("requests", 0),
        "windows": traffic.get("windows", 0),
        "tested": traffic.get("tested", 0),
        "driver": (
            f"{drivers[0]['kind']} {drivers[0]['name']} (r = {drivers[0]['r']:.2f})"
            if drivers
            else ""
        ),
        "report": report.name if report.exists() else "",
        "json": path.name,
    }


CHART_WIDTH = 640
CHART_HEIGHT = 90


def series_chart(
    values: list[float | None], width: int = CHART_WIDTH, height: int = CHART_HEIGHT
) -> dict[str, Any]:
    """A line through the windows that have a value, as SVG geometry (the template draws it):
    one polyline per run of windows with values, so a gap in the traffic is a gap in the line,
    and the zero line when the values cross it (first differences do)."""
    present = [value for value in values if value is not None]
    if not present:
        return {"width": width, "height": height, "lines": [], "zero": None, "top": 0, "bottom": 0}
    low, high = min(present), max(present)
    if low > 0:
        low = 0.0
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)

    def y(value: float) -> float:
        return round(height - 2 - (value - low) / span * (height - 14), 1)

    lines: list[str] = []
    run: list[str] = []
    for index, value in enumerate(values):
        if value is None:
            if run:
                lines.append(" ".join(run))
                run = []
            continue
        run.append(f"{round(index * step, 1)},{y(value)}")
    if run:
        lines.append(" ".join(run))
    return {
        "width": width,
        "height": height,
        "lines": lines,
        "zero": y(0.0) if low < 0 < high else None,
        "top": high,
        "bottom": low,
    }


def first_differences(values: list[float | None]) -> list[float | None]:
    return [
        None if a is None or b is None else b - a for a, b in zip(values, values[1:], strict=False)
    ]


def render_traffic_report(data: dict[str, Any]) -> str:
    """The page of one traffic analysis: the verdict, the series drawn before and after
    differencing, every series tested, the views by share."""
    from django_profilecmds.reports.text import printable_data
    from django_profilecmds.reports.traffictext import p_text, window_text

    data = printable_data(data)  # paths and names come from the log
    traffic = data["traffic"]
    charts = []
    for name, values in traffic["charts"].items():
        scale = 1000.0 if not name.startswith("view traffic") else 1.0
        scaled = [None if value is None else value * scale for value in values]
        charts.append(
            {
                "name": "overall response time" if name == "overall" else name,
                "unit": "ms" if scale == 1000.0 else "requests",
                "levels": series_chart(scaled),
                "differences": series_chart(first_differences(scaled)),
            }
        )
    results = [
        {
            **result,
            "p_text": p_text(result["p_value"]),
            "share_pct": None if result["share"] is None else 100 * result["share"],
        }
        for result in traffic["results"]
    ]
    context = {
        "data": data,
        "traffic": traffic,
        "window": window_text(traffic["window"]),
        "drivers": [
            result for result in results if result["significant"] and (result["r"] or 0) > 0
        ],
        "results": results,
        "charts": charts,
        "views": [
            {**row, "share_pct": 100 * row["share"], "mean_ms": 1000 * row["mean"]}
            for row in traffic["view_rows"]
        ],
    }
    return engine().get_template("django_profilecmds/traffic.html").render(_context(context))
