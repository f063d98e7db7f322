"""SQL capture on a real database (SQLite by default, PostgreSQL under tests/with_postgres.sh):
counts, origins, template lines, EXPLAIN in each dialect, budgets and their exit status."""

from __future__ import annotations

import inspect
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_profilecmds import profile_call, profile_request
from tests.testapp import views

pytestmark = pytest.mark.django_db(databases="__all__")


def _line_of(function, text: str) -> int:
    lines, first = inspect.getsourcelines(function)
    return first + next(i for i, line in enumerate(lines) if text in line)


@pytest.mark.parametrize("path", ["/books/", "/books/cbv/", "/stream/", "/async/"])
def test_query_count_equals_capture_queries_context(books, member, path):
    client = Client()
    client.force_login(member)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, HTTP_HOST="shop.example.com")
        b"".join(response) if response.streaming else response.content  # noqa: B018
    expected = len(captured)
    result = profile_request(path, user=member.email, profiler="none")
    assert result.query_count == expected
    assert result.sql is not None and result.sql.total == expected


def test_nplusone_names_template_loop_view_and_relation(books):
    result = profile_request("/books/", profiler="none")
    assert result.sql is not None
    (flag,) = result.sql.nplusone
    assert flag.count == len(books) == 12
    assert flag.template == "testapp/book_list.html:3"
    assert flag.loop == "testapp/book_list.html:2"
    render_line = _line_of(views.book_list, "return render(")
    assert flag.origin.endswith(f"tests/testapp/views.py:{render_line} in book_list")
    assert 'select_related("author")' in flag.hint
    first = result.queries[1]
    assert first.in_atomic is True
    assert first.stack[0][2] == "book_list"


def test_fixed_queries_are_not_flagged(books):
    result = profile_request("/stream/", profiler="none")
    assert result.sql is not None and result.sql.nplusone == []


def test_terminal_summary_and_full_listing(books):
    out = StringIO()
    call_command("profile_view", "/books/", no_files=True, profiler="none", stdout=out)
    text = out.getvalue()
    assert "N+1: 12 similar queries from one line" in text
    assert "template testapp/book_list.html:3, inside the {% for %} at line 2" in text
    assert 'fix: Add select_related("author") to the Book queryset' in text
    out = StringIO()
    call_command("profile_view", "/books/", sql="full", no_files=True, stdout=out)
    assert out.getvalue().count("\n#") == 13
    out = StringIO()
    call_command("profile_view", "/books/", sql="none", no_files=True, stdout=out)
    assert "N+1" not in out.getvalue()


def test_sql_file_lists_every_query_with_origin(books, tmp_path):
    result = profile_request("/books/", output_dir=tmp_path, profiler="none")
    text = result.files["sql"].read_text()
    assert text.count(";\n") == 13
    assert "template testapp/book_list.html:3" in text
    assert f"views.py:{_line_of(views.book_list, 'return render(')} in book_list" in text


def test_rows_of_inserts_that_return_their_keys_are_counted(db, tmp_path):
    # Django reads the new keys back (INSERT ... RETURNING on SQLite and PostgreSQL): the
    # rows are known once fetched, after the statement ran.
    result = profile_call(
        "tests.testapp.lines.shelve_books", args=[3], output_dir=tmp_path, profiler="none"
    )
    rows = [(query.sql.split(None, 1)[0], query.rows) for query in result.queries]
    assert rows == [("INSERT", 1), ("INSERT", 3), ("UPDATE", 3)]
    headers = [line for line in result.files["sql"].read_text().splitlines() if "· run " in line]
    assert [header.rsplit(" · ", 1)[1] for header in headers] == ["1 row", "3 rows", "3 rows"]


def test_columns_named_by_position_keep_their_number_in_the_shape(books):
    result = profile_call("tests.testapp.lines.titles_and_names", profiler="none")
    assert result.sql is not None
    shapes = [group.shape for group in result.sql.groups]
    union = next(shape for shape in shapes if " UNION " in shape)
    assert union.endswith(' "testapp_author" ORDER BY 1 ASC') or union.endswith(
        ' "testapp_author") ORDER BY 1 ASC'  # PostgreSQL's: (SELECT ...) UNION (SELECT ...)
    ), union
    assert any(" GROUP BY 1 ORDER BY 1 ASC" in shape for shape in shapes), shapes


def test_explain_in_the_database_dialect(books):
    result = profile_request("/books/", profiler="none", explain=True, explain_top=2)
    assert result.sql is not None
    explains = result.sql.explains
    assert len(explains) == 2 and all(e["error"] is None and e["plan"] for e in explains)
    plan = "\n".join(explains[0]["plan"] + explains[1]["plan"])
    if connection.vendor == "postgresql":
        assert "Scan" in plan and "cost=" in plan
    else:
        assert "SCAN" in plan or "SEARCH" in plan


def test_explain_analyze_only_for_selects_and_only_on_postgresql(books, member):
    result = profile_request(
        "/books/create/",
        method="POST",
        data={"title": "x"},
        profiler="none",
        explain=True,
        explain_analyze=True,
        explain_top=10,
    )
    assert result.sql is not None
    for explain in result.sql.explains:
        is_select = explain["sql"].lstrip().upper().startswith("SELECT")
        assert explain["analyze"] == (is_select and explain["vendor"] == "postgresql")
        if explain["analyze"]:
            assert any("actual time=" in line for line in explain["plan"])
    assert any(not e["sql"].upper().startswith("SELECT") for e in result.sql.explains)


def test_budgets_exit_with_status_3_and_say_why(books):
    out = StringIO()
    with pytest.raises(CommandError) as info:
        call_command(
            "profile_view",
            "/books/",
            max_queries=5,
            max_duplicates=100,
            no_files=True,
            stdout=out,
        )
    assert info.value.returncode == 3
    assert "--max-queries 5: 13 queries per run (8 over)." in str(info.value)
    assert "max-duplicates" not in str(info.value)
    call_command("profile_view", "/books/", max_queries=13, no_files=True, stdout=StringIO())


def test_unknown_sql_mode_is_an_error(db):
    with pytest.raises(CommandError, match="Unknown --sql mode 'verbose'") as info:
        call_command("profile_view", "/books/", sql="verbose", no_files=True)
    assert info.value.returncode == 1


def test_savepoints_are_not_counted_and_on_commit_callbacks_run(db):
    result = profile_request("/on-commit/", profiler="none")
    assert result.status == 200
    assert not any("SAVEPOINT" in q.sql for q in result.queries)
    assert result.query_count == 2  # the author and the book
    assert [email.subject for email in result.emails] == ["After commit"]


def test_percent_encoded_path_resolves(books):
    assert profile_request("/%62ooks/", profiler="none").status == 200


def test_user_without_session_middleware_is_an_error(member, settings):
    settings.MIDDLEWARE = [
        m
        for m in settings.MIDDLEWARE
        if "session" not in m.lower() and "auth" not in m.lower() and "messages" not in m.lower()
    ]
    from django_profilecmds.exceptions import ProfileCmdsError

    with pytest.raises(ProfileCmdsError, match="needs SessionMiddleware"):
        profile_request("/echo/", user=member.email)
    direct = profile_request("/echo/", user=member.email, direct=True)
    assert '"user": "ada@example.com"' in direct.response.body_preview


def test_zero_interval_is_rejected(db):
    with pytest.raises(CommandError, match="--interval"):
        call_command("profile_view", "/books/", interval=0, no_files=True)


@pytest.mark.parametrize("options", [{}, {"direct": True}])
def test_async_view_queries_have_their_origin_and_nplusone(books, options):
    result = profile_request("/async/authors/", profiler="none", **options)
    assert result.status == 200 and result.sql is not None
    (flag,) = result.sql.nplusone
    assert flag.count == 12
    line = _line_of(views.async_authors, "await Author.objects.aget")
    assert flag.origin.endswith(f"tests/testapp/views.py:{line} in async_authors")


def test_async_view_origin_under_asgi(books):
    out = StringIO()
    call_command("profile_view", "/async/authors/", asgi=True, no_files=True, stdout=out)
    assert "N+1: 12 similar queries from one line" in out.getvalue()
    assert "in async_authors" in out.getvalue()


@pytest.mark.parametrize(
    "path, driver, lines",
    [
        ("/books/", "full", ()),
        ("/books/cbv/", "direct", ()),
        ("/books/authors/", "full", ("tests.testapp.views.book_authors",)),
        ("/async/", "full", ()),
        ("/async/authors/", "asgi", ()),
    ],
)
def test_remembered_frames_give_the_origins_of_a_full_walk(books, monkeypatch, path, driver, lines):
    # The walk stops at a frame an earlier query's walk met and reuses what lay beyond it; with
    # nothing remembered every query walks out to the harness. Both must find the same origins.
    from django_profilecmds.collectors.sql import QueryCollector
    from django_profilecmds.runner import run
    from django_profilecmds.spec import RequestSpec, RunSpec

    spec = RunSpec(request=RequestSpec(path), driver=driver, profiler="none", lines=lines, repeat=2)

    def origins():
        result = run(spec)
        assert len(result.queries) >= 4
        return [(q.sql, q.stack, q.template, q.loop_line, q.lines) for q in result.queries]

    remember = QueryCollector._remember
    hits = []

    def counting(self, new, items, known):
        hits.append(known is not None)
        remember(self, new, items, known)

    monkeypatch.setattr(QueryCollector, "_remember", counting)
    remembered = origins()
    if not path.startswith("/async/"):  # async queries run on worker threads, from short stacks
        assert sum(hits) >= len(remembered) // 2  # most walks ended at a frame met before
    monkeypatch.setattr(QueryCollector, "_remember", lambda self, new, items, known: None)
    assert origins() == remembered
    assert all(stack or template for _sql, stack, template, *_rest in remembered)
