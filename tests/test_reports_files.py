from __future__ import annotations

import json
import stat

import pytest

from django_profilecmds import profile_request
from django_profilecmds.exceptions import OutputDirError
from django_profilecmds.reports.files import prepare_output_dir, private_path, slugify_request


@pytest.mark.parametrize(
    ("method", "path", "slug"),
    [
        ("GET", "/", "get-root"),
        ("GET", "/api/listings/?page=2", "get-api-listings-page-2"),
        ("POST", "/../../etc/passwd", "post-etc-passwd"),
        ("GET", "/caf\u00e9/%2F..%2F/", "get-caf-2f-2f"),
        ("GET", "/" + "a" * 200, "get-" + "a" * 56),
    ],
)
def test_slugs_are_safe_file_names(method, path, slug):
    assert slugify_request(method, path) == slug


def test_files_are_private_and_never_outside_the_directory(tmp_path):
    directory = prepare_output_dir(tmp_path / "reports")
    assert stat.S_IMODE(directory.stat().st_mode) & 0o077 == 0
    path = private_path(directory, "x.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(OutputDirError, match="outside"):
        private_path(directory, "../escape.json")
    assert not (tmp_path / "escape.json").exists()


@pytest.mark.django_db(databases="__all__")
def test_hostile_path_and_repeated_runs_get_distinct_files_in_the_directory(books, tmp_path):
    first = profile_request("/books/?next=../../../etc/passwd", output_dir=tmp_path)
    second = profile_request("/books/?next=../../../etc/passwd", output_dir=tmp_path)
    paths = [p for r in (first, second) for kind, p in r.files.items() if kind != "index"]
    assert len(set(paths)) == len(paths) == 8  # report, pyinstrument, sql, json
    for path in paths:
        assert path.parent == tmp_path.resolve()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(first.files["json"].read_text())["status"] == 200


@pytest.mark.django_db(databases="__all__")
def test_index_reads_each_run_from_the_start_of_its_json(books, tmp_path):
    from django_profilecmds.reports.html import render_index

    first = profile_request("/books/", output_dir=tmp_path, profiler="none")
    second = profile_request("/books/cbv/", output_dir=tmp_path, profiler="none")
    data = json.loads(first.files["json"].read_text())
    assert data["index_row"]["queries"] == first.query_count == 13
    assert data["index_row"]["nplusone"] == 1 and data["index_row"]["title"] == "GET /books/"
    # Only the row at the start is read: the rest of the file may be anything, however long.
    text = first.files["json"].read_text()
    cut = text.index('}, "title": ') + 1  # the end of the row
    first.files["json"].write_text(text[:cut] + ", " + "x" * 200_000)
    # A result written without the row (an older version) is read whole.
    old = json.loads(second.files["json"].read_text())
    del old["index_row"]
    second.files["json"].write_text(json.dumps(old))
    index = render_index(tmp_path)
    assert "GET /books/" in index and "GET /books/cbv/" in index
    assert first.files["html"].name in index and second.files["html"].name in index
