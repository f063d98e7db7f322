"""The one module that decides what report files a run has: safe slugs, never outside the output
directory, private permissions (0600 files in a 0700 directory), redaction applied. How each is
written (by rename, under a reserved name) is ``runfiles``' job."""

from __future__ import annotations

import gc
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django_profilecmds.exceptions import OutputDirError
from django_profilecmds.reports.runfiles import run_files
from django_profilecmds.reports.safewrite import make_dirs

if TYPE_CHECKING:
    from django_profilecmds.result import RunResult

MAX_SLUG = 60


def slugify_request(method: str, path: str) -> str:
    """``GET /api/listings/?page=2`` -> ``get-api-listings-page-2``; only [a-z0-9-]."""
    words = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"
    return f"{method.lower()}-{words}"[:MAX_SLUG].rstrip("-")


def prepare_output_dir(directory: str | os.PathLike[str]) -> Path:
    """Create the directory if needed, make it private (0700) if it is ours, and prove it is
    writable, before any profiling."""
    path = Path(directory).expanduser()
    try:
        make_dirs(path, 0o700)
        path = path.resolve()
        info = path.stat()
    except OSError as exc:
        raise OutputDirError(
            f"Cannot create the output directory {str(path)!r}: {exc.strerror or exc}. "
            "Choose another with --output-dir, or use --no-files."
        ) from exc
    if not stat.S_ISDIR(info.st_mode) or not os.access(path, os.W_OK | os.X_OK):
        raise OutputDirError(
            f"The output directory {str(path)!r} is not a writable directory. "
            "Choose another with --output-dir, or use --no-files."
        )
    # Another user's directory (a shared one) is left as it is: the files are 0600 anyway.
    if info.st_mode & 0o077 and info.st_uid == os.geteuid():
        try:
            path.chmod(0o700)
        except OSError as exc:
            raise OutputDirError(
                f"Cannot make the output directory {str(path)!r} private (mode 0700): "
                f"{exc.strerror or exc}. Choose another with --output-dir, or use --no-files."
            ) from exc
    return path


def write_reports(
    result: RunResult, directory: Path, when: datetime | None = None, *, speedscope: bool = False
) -> None:
    """Write every report file of ``result`` and record their paths in ``result.files``.

    The call tree goes into the report as pyinstrument's page, drawn from the samples merged by
    call path (see ``merge_call_paths``), and is also written alone (``.pyinstrument.html``).
    ``speedscope`` adds the samples in time order as speedscope JSON, which takes seconds on a
    long run.
    """
    with _collector_paused():
        _write_reports(result, directory, when, speedscope)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage collection while a report is made: pyinstrument's call tree is thousands of
    objects with cycles, and the collections their creation sets off scan the whole heap (a
    quarter of the time, in the report benchmark). The next collection after it takes them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _write_reports(
    result: RunResult, directory: Path, when: datetime | None, speedscope: bool
) -> None:
    from django_profilecmds.reports.runredaction import redact_result, redactor_for

    spec = result.spec
    data = result.to_dict()
    redactor = redactor_for(result)
    title = redactor.text(spec.title)  # a token in the path itself is no file name
    slug = slugify_request(*title.split("?", 1)[0].split(" ", 1))
    written = dict(result.files)
    with run_files(directory, slug, when or datetime.now()) as files:
        calltree_html = None
        if result.calltree is not None:
            # pyinstrument shows it atop its page: the title, with a token in the path masked.
            result.calltree.target_description = title.split("?", 1)[0]
            from pyinstrument.renderers import HTMLRenderer

            from django_profilecmds.collectors.calltree import masked_frames, merge_call_paths

            merged = masked_frames(merge_call_paths(result.calltree), redactor.known)
            calltree_html = offline(HTMLRenderer().render(merged))
            written["pyinstrument"] = files.write(".pyinstrument.html", calltree_html)
            if speedscope:
                from pyinstrument.renderers import SpeedscopeRenderer

                written["speedscope"] = files.write(
                    ".speedscope.json",
                    SpeedscopeRenderer().render(masked_frames(result.calltree, redactor.known)),
                )
        if result.function_stats is not None:
            import marshal

            stats = masked_function_keys(
                result.function_stats.stats,  # type: ignore[attr-defined]
                redactor.known,
            )
            # What pstats.Stats.dump_stats writes, written here by rename.
            written["prof"] = files.write(".prof", lambda handle: marshal.dump(stats, handle))
        if result.line_stats is not None:
            import pickle

            from django_profilecmds.reports.linetext import render_lines

            line_stats = masked_line_keys(result.line_stats, redactor.known)
            # What line_profiler's LineStats.to_file (and dump_stats before it) writes.
            written["lprof"] = files.write(
                ".lprof", lambda handle: pickle.dump(line_stats, handle, pickle.HIGHEST_PROTOCOL)
            )
            lines = redactor.text(render_lines(result))  # source lines may hold a literal key
            written["lines"] = files.write(".lines.txt", lines)
        if result.queries:
            from django_profilecmds.reports.sqltext import render_sql_file

            written["sql"] = files.write(".sql.txt", render_sql_file(result, redactor))
        data["files"] = {kind: str(path) for kind, path in written.items()}
        data["files"]["json"] = str(files.path(".json"))
        data["files"]["html"] = str(files.path(".html"))
        clean = redact_result(data, redactor)
        from django_profilecmds.reports.html import index_row, render_report

        # The report first: once the JSON is complete, the index of another run links to it.
        report_path = files.write(
            ".html", render_report(result, clean, calltree_html, redactor.text)
        )
        # The index row first, where render_index reads it without parsing the whole file.
        # Compact: indent would switch json to its pure-Python encoder, several times slower.
        document = {"index_row": index_row(clean), **clean}
        written["json"] = files.write(".json", json.dumps(document) + "\n")
        index = files.write_index()
    result.files = {"html": report_path, **written, "index": index}


def masked_function_keys(stats: dict[Any, Any], mask: Callable[[str], str]) -> dict[Any, Any]:
    """cProfile's stats with file and function names masked: a function can be named from
    data (``g_<token>``). The same dict when no name changes (the common case)."""
    names = {part for key in stats for part in (key[0], key[2])}
    changed = {name: masked for name in names if (masked := mask(name)) != name}
    if not changed:
        return stats

    def key(function: tuple[str, int, str]) -> tuple[str, int, str]:
        file, line, name = function
        return (changed.get(file, file), line, changed.get(name, name))

    return {
        key(function): (*numbers, {key(caller): value for caller, value in callers.items()})
        for function, (*numbers, callers) in stats.items()
    }


def masked_line_keys(line_stats: Any, mask: Callable[[str], str]) -> Any:
    """line_profiler's stats with file and function names masked (see above)."""
    timings = getattr(line_stats, "timings", None)
    if not isinstance(timings, dict):
        return line_stats
    names = {part for key in timings for part in (key[0], key[2])}
    changed = {name: masked for name in names if (masked := mask(name)) != name}
    if not changed:
        return line_stats
    import copy

    masked = copy.copy(line_stats)
    masked.timings = {
        (changed.get(file, file), line, changed.get(name, name)): value
        for (file, line, name), value in timings.items()
    }
    return masked


def offline(page: str) -> str:
    """pyinstrument's page loads web fonts from Google; reports must open with no network at
    all, so those addresses become empty inline stylesheets (the page falls back to local fonts).
    """
    return re.sub(r"https://fonts\.(?:googleapis|gstatic)\.com[^\"'\s)]*", "data:text/css,", page)


def write_replay_reports(
    document: dict[str, Any], changes: list[Any] | None, directory: Path
) -> list[Path]:
    """The JSON and HTML report of a replay (with its comparison), and the refreshed index."""
    import dataclasses

    from django_profilecmds.reports.html import render_replay_report

    data = {
        **document,
        "comparison": [dataclasses.asdict(change) for change in changes or []],
    }
    with run_files(directory, "replay-" + _slug(document["source"]), datetime.now()) as files:
        html_path = files.write(".html", render_replay_report(data))
        json_path = files.write(".json", json.dumps(data) + "\n")
        index = files.write_index()
    return [html_path, json_path, index]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:60] or "source"
