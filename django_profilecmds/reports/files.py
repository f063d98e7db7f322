"""The one module that decides what report files a run has: the renderers that apply
(``reports.renderers``), under safe slugs, never outside the output directory, with private
permissions (0600 files in a 0700 directory). How each is written (by rename, under a reserved
name) is ``runfiles``' job; what each holds, and its redaction, is its renderer's."""

from __future__ import annotations

import gc
import json
import os
import re
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django_profilecmds.exceptions import OutputDirError
from django_profilecmds.reports.renderers import Renderer, RunReport, renderers_for
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
) -> dict[str, Path]:
    """Write every report file ``result`` has (see :func:`write_run_files`) and return their
    paths, also kept in ``result.files`` (where the files written before, ``--save``'s, stay).

    ``speedscope`` adds the samples in time order as speedscope JSON, which takes seconds on a
    long run.
    """
    chosen = renderers_for(result, also=["speedscope"] if speedscope else [])
    result.files = write_run_files(result, directory, chosen, when)
    return result.files


def write_run_files(
    result: RunResult,
    directory: Path,
    renderers: Sequence[Renderer],
    when: datetime | None = None,
) -> dict[str, Path]:
    """Write the file of each renderer in turn, then the directory's index, and return their
    paths (the report first, the index last). The JSON also lists the files the run had
    before (``result.files``). ``result`` itself is left as it is."""
    with _collector_paused():
        report = RunReport(result)
        slug = slugify_request(*report.title.split("?", 1)[0].split(" ", 1))
        written: dict[str, Path] = {}
        with run_files(directory, slug, when or datetime.now()) as files:
            planned = {renderer.name: files.path(renderer.extension) for renderer in renderers}
            report.files = {**result.files, **_report_last(planned)}
            for renderer in renderers:
                written[renderer.name] = files.write(renderer.extension, renderer.render(report))
            index = files.write_index()
    return {**_report_first({**result.files, **written}), "index": index}


def _report_first(paths: dict[str, Path]) -> dict[str, Path]:
    """The report leads the paths a command prints: it is the file to open."""
    return {"html": paths["html"], **paths} if "html" in paths else paths


def _report_last(paths: dict[str, Path]) -> dict[str, Path]:
    """The JSON has always listed the report last."""
    report = {"html": paths["html"]} if "html" in paths else {}
    return {**{kind: path for kind, path in paths.items() if kind != "html"}, **report}


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


def write_against_report(document: dict[str, Any], directory: Path) -> list[Path]:
    """The JSON report of an A/B replay (``--against``), and the refreshed index."""
    name = "against-" + _slug(document["source"])
    with run_files(directory, name, datetime.now()) as files:
        json_path = files.write(".json", json.dumps(document) + "\n")
        index = files.write_index()
    return [json_path, index]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:60] or "source"


def write_traffic_reports(analysis: Any, directory: Path) -> list[Path]:
    """The JSON and HTML report of a traffic analysis, and the refreshed index."""
    from django_profilecmds.reports.html import render_traffic_report

    data = {
        "kind": "traffic",
        "created": datetime.now().isoformat(timespec="seconds"),
        "source": ", ".join(analysis.sources) or "traffic",
        "traffic": analysis.to_dict(),
    }
    name = "traffic-" + _slug(next(iter(analysis.sources), "traffic"))
    with run_files(directory, name, datetime.now()) as files:
        html_path = files.write(".html", render_traffic_report(data))
        json_path = files.write(".json", json.dumps(data, allow_nan=False) + "\n")
        index = files.write_index()
    return [html_path, json_path, index]
