"""The profile_view command, driven as manage.py drives it (call_command), on the test project:
custom user model keyed on email, two database aliases, DEBUG off, SMTP email configured."""

from __future__ import annotations

import json
import logging
import pstats
import re
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.testapp.models import AuditEntry, Book

pytestmark = pytest.mark.django_db(databases="__all__")


def profile_view(*args, **options):
    out, err = StringIO(), StringIO()
    call_command("profile_view", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def report_json(out: str) -> Any:
    path = next(
        line.strip()
        for line in out.splitlines()
        if line.strip().endswith(".json") and not line.strip().endswith(".speedscope.json")
    )
    return json.loads(Path(path).read_text())


def test_anonymous_get_reports_status_queries_and_call_tree(books, tmp_path):
    out, _ = profile_view("/books/", output_dir=tmp_path)
    assert "GET /books/ -> tests.testapp.views.book_list" in out
    assert "200 OK · text/html; charset=utf-8" in out
    assert "13 queries" in out  # 1 for the books + 1 author per book
    assert "book_list" in out  # the view appears in the call tree
    assert "Database changes rolled back." in out


def test_user_by_email_which_is_the_username_field(books, member, tmp_path):
    out, _ = profile_view("/private/", user="ada@example.com", output_dir=tmp_path)
    assert "as ada@example.com (pk=" in out
    assert report_json(out)["response"]["body_preview"] == "Hello ada@example.com"


def test_user_by_primary_key_passes_login_required(member, tmp_path):
    out, _ = profile_view("/private/", user=str(member.pk), output_dir=tmp_path)
    assert "200 OK" in out


def test_anonymous_is_redirected_by_login_required(db, tmp_path):
    out, _ = profile_view("/private/", output_dir=tmp_path)
    assert "302 Found" in out
    assert "anonymous" in out


def test_login_session_is_rolled_back(member, tmp_path):
    before = Session.objects.count()
    profile_view("/private/", user=member.email, output_dir=tmp_path)
    assert Session.objects.count() == before


def test_post_is_rolled_back_on_every_database_and_email_is_captured(books, member, tmp_path):
    books_before = Book.objects.count()
    audit_before = AuditEntry.objects.using("audit").count()
    out, _ = profile_view(
        "/books/create/",
        method="POST",
        data=["title=Dune", "author=Herbert"],
        user=member.email,
        output_dir=tmp_path,
    )
    assert "201 Created" in out
    # The test project's backend is SMTP with no server: a sent mail would have been a 500.
    assert "1 email captured, not sent" in out
    assert Book.objects.count() == books_before
    assert AuditEntry.objects.using("audit").count() == audit_before
    assert report_json(out)["emails"] == [
        {"subject": "New book", "from_email": "shop@example.com", "to": ["staff@example.com"]}
    ]


def test_commit_keeps_the_rows(books, member, tmp_path):
    before = Book.objects.count()
    out, _ = profile_view(
        "/books/create/", method="POST", data=["title=Kept"], commit=True, output_dir=tmp_path
    )
    assert "KEPT" in out
    assert Book.objects.count() == before + 1
    assert Book.objects.filter(title="Kept").exists()
    assert AuditEntry.objects.using("audit").filter(action__startswith="created").exists()


def test_repeated_posts_each_start_from_the_same_data(books, tmp_path):
    out, _ = profile_view(
        "/books/create/",
        method="POST",
        data=["title=Again"],
        repeat=3,
        warmup=1,
        output_dir=tmp_path,
    )
    runs = report_json(out)["runs"]
    assert [run["status"] for run in runs] == [201, 201, 201]
    # With a savepoint per run, every run finds the author missing and creates it again.
    assert len({run["queries"] for run in runs}) == 1
    assert "3 emails captured" in out


def test_json_body_inline_and_from_file(db, tmp_path):
    payload = {"title": "From JSON", "tags": ["a", "b"]}
    out, _ = profile_view("/echo/", method="POST", json=json.dumps(payload), output_dir=tmp_path)
    echoed = json.loads(report_json(out)["response"]["body_preview"])
    assert json.loads(echoed["body"]) == payload
    assert echoed["content_type"] == "application/json"

    body_file = tmp_path / "body.json"
    body_file.write_text(json.dumps(payload))
    out, _ = profile_view("/echo/", method="PUT", json=f"@{body_file}", output_dir=tmp_path)
    echoed = json.loads(report_json(out)["response"]["body_preview"])
    assert echoed["method"] == "PUT"
    assert json.loads(echoed["body"]) == payload


def test_a_json_file_that_never_ends_is_a_one_line_error(db):
    with pytest.raises(CommandError) as raised:
        profile_view("/echo/", method="POST", json="@/dev/zero", no_files=True)
    assert str(raised.value) == (
        "The --json file '/dev/zero' is larger than 16 MiB, the most a request body may be."
    )
    assert raised.value.returncode == 1


def test_get_data_joins_the_query_string(db, tmp_path):
    out, _ = profile_view("/echo/?q=1", data=["q=2", "page=3"], output_dir=tmp_path)
    echoed = json.loads(report_json(out)["response"]["body_preview"])
    assert echoed["GET"] == {"q": ["1", "2"], "page": ["3"]}


def test_headers_host_and_secure(db, tmp_path):
    out, _ = profile_view(
        "/echo/",
        header=["Accept-Language: de", "X-Custom: yes"],
        host="api.example.com",
        secure=True,
        output_dir=tmp_path,
    )
    echoed = json.loads(report_json(out)["response"]["body_preview"])
    assert echoed["accept_language"] == "de"
    assert echoed["custom"] == "yes"
    assert echoed["host"] == "api.example.com"
    assert echoed["secure"] is True


def test_default_host_is_the_first_allowed_host(db, tmp_path):
    out, _ = profile_view("/echo/", output_dir=tmp_path)
    assert json.loads(report_json(out)["response"]["body_preview"])["host"] == "shop.example.com"


def test_disallowed_host_is_a_clear_error(db):
    with pytest.raises(CommandError, match=r"not in ALLOWED_HOSTS.*--host") as info:
        profile_view("/echo/", host="evil.test", no_files=True)
    assert info.value.returncode == 1


def test_csrf_is_enforced_only_on_request(books, tmp_path):
    out, _ = profile_view(
        "/books/create/", method="POST", data=["title=x"], enforce_csrf=True, output_dir=tmp_path
    )
    assert "403 Forbidden" in out
    out, _ = profile_view("/books/create/", method="POST", data=["title=x"], output_dir=tmp_path)
    assert "201 Created" in out


def test_direct_mode_skips_middleware(books, member, tmp_path):
    full, _ = profile_view("/private/", user=member.email, output_dir=tmp_path)
    direct, _ = profile_view("/private/", user=member.email, direct=True, output_dir=tmp_path)
    assert report_json(full)["response"]["headers"]["X-Marker"] == "middleware-ran"
    assert "X-Marker" not in report_json(direct)["response"]["headers"]
    assert "direct (view only, no middleware)" in direct
    # Which functions ran, counted by cProfile (a sampling profiler can miss a fast middleware).
    called = {}
    for mode, flags in (("full", {}), ("direct", {"direct": True})):
        run_dir = tmp_path / mode
        profile_view(
            "/private/", user=member.email, profiler="cprofile", output_dir=run_dir, **flags
        )
        stats = pstats.Stats(str(next(run_dir.glob("*.prof"))))
        called[mode] = {
            (Path(file).name, name)
            for file, _, name in stats.stats  # type: ignore[attr-defined]
        }
    assert ("views.py", "private") in called["full"] and ("views.py", "private") in called["direct"]
    assert ("middleware.py", "__call__") in called["full"]  # MarkerMiddleware's, and others'
    assert ("csrf.py", "process_view") in called["full"]
    assert not {name for name in called["direct"] if name[0] in ("middleware.py", "csrf.py")}
    # The user is still attached, so login_required lets them through.
    assert report_json(direct)["response"]["body_preview"] == "Hello ada@example.com"


def test_direct_mode_renders_template_responses(books, tmp_path):
    out, _ = profile_view("/books/cbv/", direct=True, output_dir=tmp_path)
    data = report_json(out)
    assert data["status"] == 200
    assert "Book 11 by Author 2" in data["response"]["body_preview"]
    assert data["query_count"] == 13


@pytest.mark.parametrize("direct", [False, True])
def test_async_view_is_profiled_in_its_coroutine(books, tmp_path, direct):
    out, _ = profile_view("/async/", direct=direct, output_dir=tmp_path)
    assert "200 OK" in out
    assert "async_books" in out  # pyinstrument followed the coroutine
    assert report_json(out)["query_count"] == 2


def test_streaming_body_is_consumed_and_its_queries_counted(books, tmp_path):
    out, _ = profile_view("/stream/", output_dir=tmp_path)
    data = report_json(out)
    expected = sum(len(f"{b.pk},{b.title}\n") for b in books)
    assert data["response"]["size"] == expected
    assert data["response"]["streaming"] is True
    assert data["query_count"] == 1
    assert "streamed" in out


def test_repeat_and_warmup_statistics(books, tmp_path):
    out, _ = profile_view("/books/", repeat=4, warmup=2, output_dir=tmp_path)
    data = report_json(out)
    assert len(data["runs"]) == 4
    assert "wall time over 4 runs: min" in out and "p95" in out and "stdev" in out
    walls = [run["wall"] for run in data["runs"]]
    assert data["wall"]["min"] == min(walls) and data["wall"]["max"] == max(walls)
    assert all(run["queries"] == 13 for run in data["runs"])
    assert "after 2 warm-up" in out


def listed_files(out: str) -> list[Path]:
    return [
        Path(line.strip().split(" (")[0])
        for line in out.split("Reports:")[1].splitlines()
        if line.strip()
    ]


def test_files_written_and_listed_last(books, tmp_path):
    out, _ = profile_view("/books/", output_dir=tmp_path)
    listed = listed_files(out)
    assert {p.suffix for p in listed} == {".html", ".json", ".txt"}
    assert any(p.name.endswith(".sql.txt") for p in listed)
    assert not any("speedscope" in p.name for p in listed)  # on request only
    assert all(p.parent == tmp_path.resolve() and p.exists() for p in listed)
    html = next(p for p in listed if p.suffix == ".html").read_text()
    assert "pyinstrument" in html and "book_list" in html


def test_speedscope_on_request_is_drawn_from_the_samples_in_time_order(books, tmp_path):
    from pyinstrument.renderers import SpeedscopeRenderer

    from django_profilecmds import profile_request
    from django_profilecmds.collectors.calltree import merge_call_paths

    result = profile_request(
        "/books/", repeat=3, interval=0.0002, output_dir=tmp_path, speedscope=True
    )
    assert result.calltree is not None
    speedscope = json.loads(result.files["speedscope"].read_text())
    assert any(f["name"] == "book_list" for f in speedscope["shared"]["frames"])
    # The raw samples, not the ones merged by call path for the HTML page: the three runs
    # open and close the view's frames one after another.
    (profile,) = speedscope["profiles"]
    merged = json.loads(SpeedscopeRenderer().render(merge_call_paths(result.calltree)))
    assert len(profile["events"]) > len(merged["profiles"][0]["events"])
    book_list = next(
        i for i, f in enumerate(speedscope["shared"]["frames"]) if f["name"] == "book_list"
    )
    opened = [e for e in profile["events"] if e["frame"] == book_list and e["type"] == "O"]
    assert len(opened) == 3


def test_no_files(books, tmp_path):
    out, _ = profile_view("/books/", no_files=True, output_dir=tmp_path)
    assert "Reports:" not in out
    assert list(tmp_path.iterdir()) == []


def test_cprofile_backend_writes_pstats(books, tmp_path):
    out, _ = profile_view("/books/", profiler="cprofile", output_dir=tmp_path)
    assert "cumulative" in out and "book_list" in out
    prof = next(tmp_path.glob("*.prof"))
    stats = pstats.Stats(str(prof))
    assert any(func[2] == "book_list" for func in stats.stats)  # type: ignore[attr-defined]
    assert not list(tmp_path.glob("*.pyinstrument.html"))  # no call tree from cProfile


def test_profiler_none_measures_without_profiling(books, tmp_path):
    out, _ = profile_view("/books/", profiler="none", output_dir=tmp_path)
    assert "13 queries" in out
    assert "book_list  tests" not in out
    names = sorted(p.name.split(".", 1)[1] for p in tmp_path.iterdir())
    assert names == ["html", "html", "json", "sql.txt"]  # report, index, result, queries


def test_verbosity_zero_prints_only_the_files(books, tmp_path):
    out, _ = profile_view("/books/", verbosity=0, output_dir=tmp_path)
    assert out.splitlines()[0] == ""
    assert "Reports:" in out and "GET /books/" not in out


def test_verbosity_two_adds_the_runs_table(books, tmp_path):
    out, _ = profile_view("/books/", verbosity=2, repeat=2, output_dir=tmp_path)
    assert "run      wall       CPU  queries   DB time  status" in out


def test_raising_view_prints_traceback_writes_files_and_fails(books, tmp_path):
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="raised an exception") as info:
        call_command("profile_view", "/explode/", output_dir=tmp_path, stdout=out, stderr=err)
    assert info.value.returncode == 1
    assert "ValueError: the test view exploded" in err.getvalue()
    assert "500 Internal Server Error" in out.getvalue()
    assert {p.suffix for p in tmp_path.iterdir()} == {".html", ".json", ".txt"}


@contextmanager
def request_log_on_the_terminal() -> Iterator[None]:
    """Django's default logging with DEBUG on: django.request's errors reach the "django"
    logger's console handler, a StreamHandler on stderr (the test settings silence it)."""
    request_logger, django_logger = logging.getLogger("django.request"), logging.getLogger("django")
    console = logging.StreamHandler()  # sys.stderr, as Django's "console" handler
    level = request_logger.level
    request_logger.setLevel(logging.NOTSET)
    django_logger.addHandler(console)
    try:
        yield
    finally:
        django_logger.removeHandler(console)
        request_logger.setLevel(level)


def test_raising_view_traceback_is_printed_once(books, tmp_path, capsys, caplog):
    out, err = StringIO(), StringIO()
    with request_log_on_the_terminal(), pytest.raises(CommandError, match="raised an exception"):
        call_command(
            "profile_view",
            "/explode/",
            repeat=2,
            profiler="none",
            output_dir=tmp_path,
            stdout=out,
            stderr=err,
        )
    terminal = capsys.readouterr().err + err.getvalue()
    assert terminal.count("Traceback (most recent call last)") == 1
    assert terminal.count("ValueError: the test view exploded") == 1
    # Django's own line, once per counted run; the traceback under the summary, once.
    assert terminal.count("Internal Server Error: /explode/\n") == 2
    assert "ValueError: the test view exploded" in err.getvalue()
    # Handlers that are not the terminal (a log file, the admins' email) still get it whole.
    logged = [r for r in caplog.records if r.name == "django.request"]
    assert len(logged) == 2 and all(r.exc_info and r.exc_info[0] is ValueError for r in logged)
    assert caplog.text.count("ValueError: the test view exploded") == 2


def test_raising_view_in_direct_mode(books, tmp_path):
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="raised an exception"):
        call_command(
            "profile_view", "/explode/", direct=True, output_dir=tmp_path, stdout=out, stderr=err
        )
    assert "in explode" in err.getvalue()
    assert "The view raised an exception (no response)" in out.getvalue()


def test_server_error_status_fails(db, tmp_path):
    with pytest.raises(CommandError, match="answered 503") as info:
        profile_view("/unavailable/", output_dir=tmp_path)
    assert info.value.returncode == 1


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (["/nope/"], {}, r"No URL pattern matches '/nope/'"),
        (["/bookz/"], {}, r"closest URL patterns are:\n  /books/"),
        (["/books"], {}, r"closest URL patterns are:\n  /books/$"),
        (["books/"], {}, r"must start with '/'"),
        (["/books/"], {"user": "nobody@example.com"}, r"No user matches --user"),
        (["/books/"], {"user": "ada@example.co"}, r"Did you mean 'ada@example.com'"),
        (["/books/"], {"data": ["novalue"]}, r"--data expects name=value, got 'novalue'"),
        (["/books/"], {"header": ["NoColon"]}, r"--header expects 'Name: value'"),
        (["/books/"], {"json": "{bad"}, r"--json is not valid JSON"),
        (["/books/"], {"json": "@/does/not/exist.json"}, r"Cannot read the --json file"),
        (["/books/"], {"profiler": "yappi"}, r"Unknown profiler 'yappi'"),
        (["/books/"], {"method": "FETCH"}, r"Unknown HTTP method 'FETCH'"),
        (["/books/"], {"repeat": 0}, r"--repeat must be at least 1"),
        (["/books/"], {"data": ["a=1"], "json": "{}"}, r"either --data or --json"),
        (["tests.testapp.lines.arithmetic"], {}, r"No URL without .*instead, such as /books/"),
        (["tests.testapp.api.BookViewSet.retrieve"], {}, r"GET /api/books/<pk>/ takes arg"),
        (["tests.testapp.api.Nope"], {}, r"has no attribute or submodule 'Nope'"),
        (["books.html"], {}, r"No module named 'books'. \(A URL path starts with '/'.\)"),
    ],
)
def test_bad_input_is_a_clear_error(member, args, options, message):
    with pytest.raises(CommandError, match=message) as info:
        profile_view(*args, no_files=True, **options)
    assert info.value.returncode == 1


def test_a_dotted_view_is_sent_to_the_url_that_routes_to_it(books, tmp_path):
    out, _ = profile_view("tests.testapp.api.BookViewSet.list", no_files=True)
    assert out.startswith("Using /api/books/ (the URL routed to the target).")
    assert "GET /api/books/ -> tests.testapp.api.BookViewSet" in out
    assert "200 OK · application/json" in out
    out, _ = profile_view("tests.testapp.views.BookListView", no_files=True)
    assert "GET /books/cbv/ -> tests.testapp.views.BookListView" in out


def test_unwritable_output_dir(db, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(CommandError, match="Cannot create the output directory"):
        profile_view("/books/", output_dir=str(blocker / "reports"))


def test_bad_input_changes_nothing(books, member):
    before = Book.objects.count()
    with pytest.raises(CommandError):
        profile_view("/books/create/", method="POST", data=["title=x"], host="evil.test")
    assert Book.objects.count() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-db-time-ms", "nan"], "--max-db-time-ms must be a number of 0 or more, got nan."),
        (["--max-db-time-ms", "-1"], "--max-db-time-ms must be a number of 0 or more"),
        (["--user", ""], "--user is empty"),
        (["--user", "  "], "--user is empty"),
    ],
)
def test_bad_numbers_and_an_empty_user_are_one_line_errors(db, args, message):
    from tests.testapp.models import Member

    Member.objects.create(email="", name="No email")  # what an empty --user would match
    with pytest.raises(CommandError, match=re.escape(message)) as raised:
        call_command("profile_view", "/books/", *args, "--no-files", stdout=StringIO())
    assert raised.value.returncode == 1
    assert "\n" not in str(raised.value)


def test_secrets_in_the_query_string_stay_out_of_the_terminal(db):
    out, err = StringIO(), StringIO()
    call_command(
        "profile_view",
        "/echo/?token=PLANTEDTOKEN1&password=abc12&page=2",
        "--no-files",
        stdout=out,
        stderr=err,
    )
    printed = out.getvalue() + err.getvalue()
    assert "GET /echo/?token=" in printed and "page=2" in printed
    assert "PLANTEDTOKEN1" not in printed
    assert "abc12" not in printed
