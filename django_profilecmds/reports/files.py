"""The one module that names and writes report files: safe slugs, never outside the output
directory, private permissions (0600 files in a 0700 directory), redaction applied."""

from __future__ import annotations

import gc
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django_profilecmds.exceptions import OutputDirError

if TYPE_CHECKING:
    from django_profilecmds.result import RunResult

MAX_SLUG = 60


def slugify_request(method: str, path: str) -> str:
    """``GET /api/listings/?page=2`` -> ``get-api-listings-page-2``; only [a-z0-9-]."""
    words = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"
    return f"{method.lower()}-{words}"[:MAX_SLUG].rstrip("-")


def prepare_output_dir(directory: str | os.PathLike[str]) -> Path:
    """Create the directory if needed and prove it is writable, before any profiling."""
    path = Path(directory).expanduser()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputDirError(
            f"Cannot create the output directory {str(path)!r}: {exc.strerror or exc}. "
            "Choose another with --output-dir, or use --no-files."
        ) from exc
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise OutputDirError(
            f"The output directory {str(path)!r} is not a writable directory. "
            "Choose another with --output-dir, or use --no-files."
        )
    return path.resolve()


def _unique_base(directory: Path, slug: str, when: datetime) -> str:
    base = f"{slug}-{when:%Y%m%d-%H%M%S}"
    candidate, counter = base, 2
    while any(directory.glob(f"{candidate}.*")):
        candidate, counter = f"{base}-{counter}", counter + 1
    return candidate


def private_path(directory: Path, name: str) -> Path:
    """Create ``name`` empty with mode 0600 inside ``directory``; refuse anything outside it."""
    target = (directory / name).resolve()
    if target.parent != directory or os.sep in name:
        raise OutputDirError(f"Refusing to write {name!r} outside {str(directory)!r}.")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    return target


def write_text(directory: Path, name: str, text: str) -> Path:
    path = private_path(directory, name)
    path.write_text(text, encoding="utf-8")
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
    from django_profilecmds.reports.redact import redact_result, redactor_for

    spec = result.spec
    data = result.to_dict()
    redactor = redactor_for(result)
    title = redactor.text(spec.title)  # a token in the path itself is no file name
    base = _unique_base(
        directory, slugify_request(*title.split("?", 1)[0].split(" ", 1)), when or datetime.now()
    )
    calltree_html = None
    if result.calltree is not None:
        from pyinstrument.renderers import HTMLRenderer

        from django_profilecmds.collectors.calltree import merge_call_paths

        calltree_html = offline(HTMLRenderer().render(merge_call_paths(result.calltree)))
        result.files["pyinstrument"] = write_text(
            directory, f"{base}.pyinstrument.html", calltree_html
        )
        if speedscope:
            from pyinstrument.renderers import SpeedscopeRenderer

            result.files["speedscope"] = write_text(
                directory, f"{base}.speedscope.json", SpeedscopeRenderer().render(result.calltree)
            )
    if result.function_stats is not None:
        prof = private_path(directory, f"{base}.prof")
        result.function_stats.dump_stats(prof)
        result.files["prof"] = prof
    if result.line_stats is not None:
        from django_profilecmds.reports.linetext import render_lines

        lprof = private_path(directory, f"{base}.lprof")
        if hasattr(result.line_stats, "to_file"):
            result.line_stats.to_file(lprof)
        else:
            _pickle(result.line_stats, lprof)
        result.files["lprof"] = lprof
        lines = redactor.text(render_lines(result))  # source lines may hold a literal key
        result.files["lines"] = write_text(directory, f"{base}.lines.txt", lines)
    if result.queries:
        from django_profilecmds.reports.sqltext import render_sql_file

        result.files["sql"] = write_text(
            directory, f"{base}.sql.txt", render_sql_file(result, redactor)
        )
    json_path = private_path(directory, f"{base}.json")
    result.files["json"] = json_path
    data["files"] = {kind: str(path) for kind, path in result.files.items()}
    data["files"]["json"] = str(json_path)
    report_path = private_path(directory, f"{base}.html")
    data["files"]["html"] = str(report_path)
    clean = redact_result(data, redactor)
    from django_profilecmds.reports.html import index_row, render_index, render_report

    # The index row first, where render_index reads it without parsing the whole file.
    # Compact: indent would switch json to its pure-Python encoder, several times slower.
    document = {"index_row": index_row(clean), **clean}
    json_path.write_text(json.dumps(document) + "\n", encoding="utf-8")

    report_path.write_text(render_report(result, clean, calltree_html), encoding="utf-8")
    result.files = {"html": report_path, **result.files}
    result.files["index"] = write_text(directory, "index.html", render_index(directory))


def offline(page: str) -> str:
    """pyinstrument's page loads web fonts from Google; reports must open with no network at
    all, so those addresses become empty inline stylesheets (the page falls back to local fonts).
    """
    return re.sub(r"https://fonts\.(?:googleapis|gstatic)\.com[^\"'\s)]*", "data:text/css,", page)


def _pickle(stats: object, path: Path) -> None:
    # line_profiler < 5 has no LineStats.to_file; this is what its dump_stats writes.
    import pickle

    with path.open("wb") as handle:
        pickle.dump(stats, handle, pickle.HIGHEST_PROTOCOL)


def write_replay_reports(
    document: dict[str, Any], changes: list[Any] | None, directory: Path
) -> list[Path]:
    """The JSON and HTML report of a replay (with its comparison), and the refreshed index."""
    import dataclasses

    from django_profilecmds.reports.html import render_index, render_replay_report

    when = datetime.now()
    base = _unique_base(directory, "replay-" + _slug(document["source"]), when)
    data = {
        **document,
        "comparison": [dataclasses.asdict(change) for change in changes or []],
    }
    json_path = write_text(directory, f"{base}.json", json.dumps(data) + "\n")
    html_path = write_text(directory, f"{base}.html", render_replay_report(data))
    index = write_text(directory, "index.html", render_index(directory))
    return [html_path, json_path, index]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:60] or "source"
