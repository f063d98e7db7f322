"""What other tools cost around the same request, for reference: no goal, figures only.

On the demo's three page kinds (the N+1 list, the same list in a constant number of queries, a
JSON endpoint), each tool's cost around one Django handler request, as a ratio to the bare
handler (a RequestFactory request through the demo's middleware, nothing around it) measured in
the same process with interleaved rounds: profile_request() with profiler="none" and with its
defaults (pyinstrument and the SQL origins), warmup=0, one call per request; a bare pyinstrument
Profiler; Django's CaptureQueriesContext; django-silk's middleware, without and with its Python
profiler; django-debug-toolbar with its default panels. Each tool runs in a process of its own,
with its own settings module (``benchmarks/settings_*.py``) on its own copy of the seeded demo
database; the check that it really ran is made on each page's warm-up request. A tool that does
not import is reported as skipped. The demo runs with DEBUG = True (the toolbar needs it), so
both sides keep Django's query log; CaptureQueriesContext costs what it adds to that. Silk's
first request replaces ``SQLCompiler.execute_sql`` process-wide, so the bare rounds of its
processes run with Django's own put back.

Run with ``make bench``, which installs the ``bench`` extra (django-silk, django-debug-toolbar)
first, or ``python -m benchmarks.bench_other_tools [--tool NAME ...]`` from the repository root.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._common import demo_environment, interleaved, report, setup_django
from benchmarks.othertools import (
    TOOLS,
    TOOLS_BY_NAME,
    Tool,
    ToolDidNotRun,
    bare_handler,
    candidate,
    handler_request,
    missing_requirement,
    served,
)

# Each page and its requests per round and side: fewer of the N+1 page, which silk's profiler
# makes take seconds, so the whole benchmark stays within a few minutes.
PATHS = {"/listings/": 2, "/listings/fast/": 4, "/api/listings/stats/": 4}
ROUNDS = 8


def measure(tool: Tool, rounds: int) -> dict[str, Any]:
    """This process's figures for ``tool``: per path, the per-round ratios and the medians."""
    skipped = missing_requirement(tool)
    if skipped:
        return {"skipped": skipped}
    setup_django()
    from django.core.management import call_command

    if "silk" in tool.requires:
        call_command("migrate", "silk", verbosity=0)  # silk's tables, in this copy only
    bare = served(handler_request(bare_handler()))
    tool_run = candidate(tool)
    through_tool = served(tool_run.request)
    figures = {}
    for path in PATHS:

        def timed_bare(path: str = path) -> float:
            with tool_run.bare_context():
                return timed(bare, path)

        def timed_tool(path: str = path) -> float:
            return timed(through_tool, path)

        tool_run.check(path, through_tool(path))  # also warms the tool's side
        with tool_run.bare_context():
            if bare(path).status_code != 200:
                raise SystemExit(f"{path}: the bare handler did not answer 200")
        ratio, base, cand = interleaved(rounds, timed_bare, timed_tool)
        report(f"{tool.label} on {path} vs bare handler", ratio, None, base, cand)
        figures[path] = {
            "ratio": ratio,
            "ratios": [c / b for b, c in zip(base, cand, strict=True)],
            "bare_ms": statistics.median(base) * 1000,
            "tool_ms": statistics.median(cand) * 1000,
        }
    return {"paths": figures, "version": importlib.metadata.version(tool.distribution)}


def timed(request: Any, path: str) -> float:
    start = time.perf_counter()
    for _ in range(PATHS[path]):
        request(path)
    return (time.perf_counter() - start) / PATHS[path]


def run_all(tools: list[Tool], rounds: int) -> int:
    """Each tool in a process of its own; print the table of what they measured."""
    seeded = Path(demo_environment()["DEMO_DATABASE_PATH"])
    try:
        results = {tool.name: run_in_process(tool, rounds, seeded) for tool in tools}
    finally:
        shutil.rmtree(seeded.parent)
    print_table(tools, results)
    return 1 if any("failed" in result for result in results.values()) else 0


def run_in_process(tool: Tool, rounds: int, seeded: Path) -> dict[str, Any]:
    """``measure(tool)`` in a process with the tool's settings, on a copy of the seeded database."""
    print(f"-- {tool.name} ({tool.settings})", flush=True)
    database = seeded.with_name(f"{tool.name}.sqlite3")
    results = seeded.with_name(f"{tool.name}.json")
    shutil.copyfile(seeded, database)
    env = {
        **os.environ,
        "DEMO_DATABASE_PATH": str(database),
        "DJANGO_SETTINGS_MODULE": tool.settings,
    }
    command = [sys.executable, "-m", "benchmarks.bench_other_tools", "--in-process", tool.name]
    command += ["--rounds", str(rounds), "--results", str(results)]
    status = subprocess.run(command, env=env, check=False).returncode
    database.unlink()
    if not results.exists():
        return {"failed": f"exit status {status}, its error is above"}
    return dict(json.loads(results.read_text()))


def print_table(tools: list[Tool], results: dict[str, dict[str, Any]]) -> None:
    labels = {
        tool.name: f"{tool.label} {results[tool.name].get('version', '')}".rstrip()
        for tool in tools
    }
    width = max(map(len, labels.values())) + 2
    print(
        "\nEach tool around one handler request, as a ratio to the bare handler in its own "
        "process:\nmedian of the per-round ratios [lowest-highest round]; "
        "the bare handler's median ms after the bar."
    )
    print("".ljust(width) + "".join(path.ljust(29) for path in PATHS))
    for tool in tools:
        result = results[tool.name]
        line = labels[tool.name].ljust(width)
        if "paths" not in result:
            outcome = "skipped" if "skipped" in result else "FAILED"
            print(f"{line}{outcome}: {result.get('skipped') or result['failed']}")
            continue
        for path in PATHS:
            figures = result["paths"][path]
            low, high = min(figures["ratios"]), max(figures["ratios"])
            cell = f"{figures['ratio']:.2f}x [{low:.2f}-{high:.2f}] | {figures['bare_ms']:.1f}"
            line += cell.ljust(29)
        print(line.rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tool", action="append", choices=list(TOOLS_BY_NAME), help="only these (repeatable)"
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="interleaved rounds per page")
    parser.add_argument("--in-process", choices=list(TOOLS_BY_NAME), help=argparse.SUPPRESS)
    parser.add_argument("--results", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        try:
            figures = measure(TOOLS_BY_NAME[args.in_process], args.rounds)
        except ToolDidNotRun as exc:
            figures = {"failed": f"it did not run: {exc}"}
        for outcome in ("skipped", "failed"):
            if outcome in figures:
                print(f"{args.in_process}: {outcome}, {figures[outcome]}")
        args.results.write_text(json.dumps(figures))
        return 1 if "failed" in figures else 0
    tools = [TOOLS_BY_NAME[name] for name in args.tool] if args.tool else list(TOOLS)
    return run_all(tools, args.rounds)


if __name__ == "__main__":
    sys.exit(main())
