from __future__ import annotations

import json
import os
import stat
import threading
from datetime import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_profilecmds import profile_request
from django_profilecmds.reports.files import prepare_output_dir, slugify_request, write_reports
from django_profilecmds.reports.runfiles import run_files


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


def test_the_directory_and_the_files_are_private(tmp_path):
    directory = prepare_output_dir(tmp_path / "reports")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    with run_files(directory, "get-root", datetime(2026, 1, 2)) as files:
        path = files.write(".sql.txt", "select 1")
    assert path == directory / "get-root-20260102-000000.sql.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in directory.iterdir()) == [
        "get-root-20260102-000000.json",  # reserved, and empty until the run's JSON is written
        path.name,
    ]


@pytest.mark.django_db(databases="__all__")
def test_the_index_tells_the_kinds_of_run_apart_and_names_users_of_requests_only(
    books, member, tmp_path
):
    import re

    quiet = {"output_dir": str(tmp_path), "stdout": StringIO(), "stderr": StringIO()}
    call_command("profile_view", "/private/", user=member.email, **quiet)
    call_command("lineprof", "tests.testapp.views.book_list", url="/books/", **quiet)
    call_command("profile_call", "tests.testapp.lines.arithmetic", args="[3]", **quiet)
    call_command("profile_command", "make_books", "--count", "1", **quiet)
    index = (tmp_path / "index.html").read_text()
    rows = {
        cells[2]: cells[1:4]
        for cells in (
            re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            for row in re.findall(r"<tr>(.*?)</tr>", index.split("<tbody>", 1)[1], re.S)
        )
    }
    session = f"as {member.email} (pk={member.pk}) · session"
    assert rows == {
        "GET /private/": ["profile_view", "GET /private/", session],
        "GET /books/": ["lineprof", "GET /books/", "anonymous"],
        "call tests.testapp.lines.arithmetic": [
            "profile_call",
            "call tests.testapp.lines.arithmetic",
            "",
        ],
        "command make_books --count 1": ["profile_command", "command make_books --count 1", ""],
    }


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


def profile_view_command(*args, **options):
    out, err = StringIO(), StringIO()
    call_command("profile_view", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def one_line_error(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.django_db(databases="__all__")
def test_a_hard_link_at_index_html_is_replaced_and_its_file_left_alone(books, tmp_path):
    directory = prepare_output_dir(tmp_path / "reports")
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file\n")
    victim.chmod(0o644)
    os.link(victim, directory / "index.html")
    result = profile_request("/books/", output_dir=directory, profiler="none")
    assert victim.read_text() == "the user's own file\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    index = result.files["index"]
    assert not index.samefile(victim) and index.stat().st_nlink == 1
    assert stat.S_IMODE(index.stat().st_mode) == 0o600
    assert result.files["html"].name in index.read_text()


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize("inside", [False, True])
def test_a_symlink_at_index_html_is_refused_and_never_followed(books, tmp_path, inside):
    directory = prepare_output_dir(tmp_path / "reports")
    victim = (directory if inside else tmp_path) / "notes.txt"
    victim.write_text("notes\n")
    (directory / "index.html").symlink_to(victim)
    before = sorted(p.name for p in directory.iterdir())
    with pytest.raises(CommandError) as excinfo:
        profile_view_command("/books/", output_dir=directory, profiler="none")
    assert "index.html" in one_line_error(excinfo) and "symbolic link" in str(excinfo.value)
    assert victim.read_text() == "notes\n"
    assert sorted(p.name for p in directory.iterdir()) == before  # nothing of the run is left


@pytest.mark.django_db(databases="__all__")
def test_a_symlink_at_a_report_name_is_never_followed(books, tmp_path):
    directory = prepare_output_dir(tmp_path / "reports")
    when = datetime(2026, 1, 2, 3, 4, 5)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    for suffix in (".json", ".html", ".sql.txt"):
        (directory / f"get-books-20260102-030405{suffix}").symlink_to(victim)
    result = profile_request("/books/", profiler="none")
    write_reports(result, directory, when)
    assert victim.read_text() == "precious\n"
    assert all(not path.is_symlink() for path in result.files.values())


@pytest.mark.django_db(databases="__all__")
def test_an_index_html_that_is_a_directory_is_a_one_line_error(books, tmp_path):
    directory = prepare_output_dir(tmp_path / "reports")
    (directory / "index.html").mkdir()
    with pytest.raises(CommandError) as excinfo:
        profile_view_command("/books/", output_dir=directory, profiler="none")
    assert "index.html" in one_line_error(excinfo)
    assert [p.name for p in directory.iterdir()] == ["index.html"]


@pytest.mark.django_db(databases="__all__")
def test_an_existing_loose_directory_and_index_are_made_private(books, tmp_path):
    directory = tmp_path / "reports"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    (directory / "index.html").write_text("old index")
    (directory / "index.html").chmod(0o644)
    result = profile_request("/books/", output_dir=directory, profiler="none")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert result.files["html"].name in (directory / "index.html").read_text()


@pytest.mark.django_db(databases="__all__")
def test_concurrent_writers_into_one_directory_keep_every_report(books, tmp_path):
    """Twelve runs finishing in the same second write twelve reports, by twelve names."""
    directory = prepare_output_dir(tmp_path / "reports")
    results = [profile_request("/books/", profiler="none") for _ in range(12)]
    when = datetime(2026, 1, 2, 3, 4, 5)
    start = threading.Barrier(len(results))

    def write(result):
        start.wait()
        write_reports(result, directory, when)

    threads = [threading.Thread(target=write, args=(result,)) for result in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = [result.files["html"].name for result in results]
    assert len(set(names)) == 12
    assert len({result.files["json"] for result in results}) == 12
    for result in results:
        assert json.loads(result.files["json"].read_text())["status"] == 200
        assert result.files["html"].read_text().rstrip().endswith("</html>")
    index = (directory / "index.html").read_text()
    assert index.rstrip().endswith("</html>")
    assert all(name in index for name in names)
    assert sorted(p.name for p in directory.iterdir() if p.name.startswith(".")) == []


@pytest.mark.django_db(databases="__all__")
def test_an_output_dir_1000_levels_deep_is_made(books, tmp_path):
    levels = [tmp_path.joinpath(*["d"] * depth) for depth in range(1, 1001)]
    try:
        profile_view_command("/books/", output_dir=levels[-1], profiler="none")
        assert (levels[-1] / "index.html").is_file()
        assert any(path.suffix == ".json" for path in levels[-1].iterdir())
    finally:
        # shutil.rmtree, and so pytest's removal of old temporary directories, recurses per level.
        for level in reversed(levels):
            if level.is_dir():
                for path in level.iterdir():
                    if not path.is_dir():
                        path.unlink()
                level.rmdir()


def test_an_output_dir_longer_than_the_system_allows_is_a_one_line_error(tmp_path):
    deep = tmp_path.joinpath(*["d"] * 3000)  # 6,000 characters: more than PATH_MAX
    with pytest.raises(CommandError) as excinfo:
        profile_view_command("/books/", output_dir=deep, profiler="none")
    assert "name too long" in one_line_error(excinfo)
