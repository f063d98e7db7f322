"""profile_call and profile_command: profiling code that is not a request."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_profilecmds.reports.text import queries_of_runs
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db(databases="__all__")


def run(command, *args, **options):
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_sync_callable_with_arguments(books, tmp_path):
    out, _ = run(
        "profile_call",
        "tests.testapp.lines.arithmetic",
        call_args="[30]",
        call_kwargs='{"scale": 2}',
        output_dir=tmp_path,
    )
    assert "call tests.testapp.lines.arithmetic" in out
    assert "Returned int" in out and "arithmetic" in out  # in the call tree too
    data = json.loads(
        next(p for p in tmp_path.glob("*.json") if "speedscope" not in p.name).read_text()
    )
    assert data["driver"] == "call"


def test_async_callable_with_queries(books):
    out, _ = run(
        "profile_call",
        "tests.testapp.lines.async_titles",
        call_kwargs='{"limit": 3}',
        no_files=True,
    )
    assert "Returned list with 3 items" in out
    assert "1 query" in out


def test_runs_with_different_query_counts_are_told_apart_alike_on_both_lines(books):
    out, _ = run(
        "profile_call",
        "tests.testapp.lines.cached_catalogue",
        repeat=3,
        warmup=0,  # the first run fills the private cache, the others read it
        profiler="none",
        no_files=True,
    )
    measures = next(line for line in out.splitlines() if line.startswith("  wall "))
    sql = next(line for line in out.splitlines() if line.startswith("SQL: "))
    assert "3 queries in the first run, 0 in the others (" in measures
    assert sql.startswith("SQL: 3 queries in the first run, 0 in the others; ")
    # The same database time on both lines: all of the three runs'.
    (db_time,) = re.findall(r"\(([\d.]+ ms) in the database over the 3 runs\)", measures)
    assert f"over the 3 runs, 3 queries in {db_time} · 3 shapes" in sql
    table = out[out.index("  count ") :].splitlines()[1:4]
    assert [line.split()[0] for line in table] == ["1", "1", "1"]  # each ran once in all


@pytest.mark.parametrize(
    ("counts", "text"),
    [
        ([13], "13 queries"),
        ([1, 1], "1 query per run"),
        ([3, 0], "3 queries in the first run, 0 in the second"),
        ([1, 4, 4, 4], "1 query in the first run, 4 in the others"),
        ([5, 3, 4, 13, 5], "3 to 13 queries per run (median 5)"),
        ([0, 1, 0], "0 to 1 queries per run (median 0)"),
    ],
)
def test_query_counts_of_runs_are_the_counts_the_runs_ran(counts, text):
    assert queries_of_runs(counts) == text


def test_call_is_rolled_back_unless_commit(books):
    before = Book.objects.count()
    out, _ = run(
        "profile_call",
        "tests.testapp.lines.create_book",
        call_args='["New"]',
        no_files=True,
        repeat=2,
    )
    assert Book.objects.count() == before and "rolled back" in out
    run(
        "profile_call",
        "tests.testapp.lines.create_book",
        call_args='["Kept"]',
        no_files=True,
        commit=True,
    )
    assert Book.objects.filter(title="Kept").count() == 1


def test_input_factory(books):
    out, _ = run(
        "profile_call",
        "tests.testapp.lines.arithmetic",
        input="tests.testapp.lines.book_count",
        no_files=True,
    )
    assert "Returned int" in out


def test_raising_callable_exits_1_with_traceback(db, tmp_path):
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="The call raised an exception") as info:
        call_command(
            "profile_call",
            "tests.testapp.lines.explode",
            output_dir=tmp_path,
            stdout=out,
            stderr=err,
        )
    assert info.value.returncode == 1
    assert "RuntimeError: called function exploded" in err.getvalue()
    assert list(tmp_path.glob("*.json"))


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (["tests.testapp.lines.nope"], {}, "has no attribute or submodule 'nope'"),
        (["tests.testapp.lines.NOT_A_FUNCTION"], {}, "is a int, not callable"),
        (["tests.testapp.lines.arithmetic"], {"call_args": "[1"}, "--args is not valid JSON"),
        (["tests.testapp.lines.arithmetic"], {"call_kwargs": '"x"'}, "must be a JSON object"),
        (["tests.testapp.lines.arithmetic"], {"input": "tests.testapp.nothing"}, "no attribute"),
    ],
)
def test_call_bad_input(db, args, options, message):
    with pytest.raises(CommandError, match=message) as info:
        run("profile_call", *args, no_files=True, **options)
    assert info.value.returncode == 1


HOSTILE = "tests.testapp.hostile"
BROKEN_IMPORTS = [
    (
        f"{HOSTILE}.raises_on_import",
        r"raised ValueError: cannot reach https://api\.example\.com/\?token=\*+ "
        r"\(at tests/testapp/hostile/raises_on_import\.py:7\)",
    ),
    (f"{HOSTILE}.syntax_error", r"raised SyntaxError: .*\(syntax_error\.py, line 3\)"),
    (f"{HOSTILE}.exits_on_import", r"raised SystemExit: 7 \(at .*exits_on_import\.py:7\)"),
]


@pytest.mark.parametrize(("module", "error"), BROKEN_IMPORTS)
def test_target_module_that_fails_to_import(db, module, error):
    with pytest.raises(CommandError) as info:
        run("profile_call", f"{module}.func", no_files=True)
    message = str(info.value)
    assert info.value.returncode == 1
    assert "\n" not in message and "not-for-the-terminal" not in message
    assert re.fullmatch(
        rf"Importing '{module}' {error}; fix the module or check the name\.", message
    )


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (
            f"{HOSTILE}.factories.NOT_CALLABLE",
            rf"--input '{HOSTILE}\.factories\.NOT_CALLABLE' is a list, not callable\.",
        ),
        (
            f"{HOSTILE}.factories.raising_factory",
            rf"The --input factory '{HOSTILE}\.factories\.raising_factory' raised LookupError: "
            r"no fixture data loaded \(at tests/testapp/hostile/factories\.py:13\); "
            r"the call was not run\.",
        ),
        (
            f"{HOSTILE}.factories.needs_an_argument",
            r"raised TypeError: needs_an_argument\(\) missing 1 required positional argument",
        ),
        (f"{HOSTILE}.exits_on_import.make", r"Importing '.*exits_on_import' raised SystemExit"),
    ],
)
def test_input_factory_that_fails(books, factory, message):
    before = Author.objects.count()
    with pytest.raises(CommandError, match=message) as info:
        run("profile_call", "tests.testapp.lines.arithmetic", input=factory, no_files=True)
    assert info.value.returncode == 1 and "\n" not in str(info.value)
    assert Author.objects.count() == before


def test_command_with_arguments_and_output(db, tmp_path):
    before = Book.objects.count()
    out, _ = run(
        "profile_command", "make_books", "--", "--count", "4", output_dir=tmp_path, sql="full"
    )
    assert "stdout of make_books:\nCreated 4 books." in out
    assert "stderr of make_books:\ndone" in out
    assert Book.objects.count() == before  # rolled back
    assert out.count('\n    INSERT INTO "testapp_book"') == 4  # in the full listing
    data = json.loads(
        next(p for p in tmp_path.glob("*.json") if "speedscope" not in p.name).read_text()
    )
    assert data["output"]["stdout"] == "Created 4 books.\n"
    assert data["driver"] == "management command"


def test_command_commit_keeps_rows(db):
    before = Book.objects.count()
    run("profile_command", "make_books", "--count", "2", commit=True, no_files=True)
    assert Book.objects.count() == before + 2


def test_command_that_needs_input_is_a_clear_error(db, tmp_path, capsys):
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as info:
        call_command(
            "profile_command", "make_books", "--ask", output_dir=tmp_path, stdout=out, stderr=err
        )
    assert str(info.value) == (
        "The command 'make_books' asked for interactive input ('Really create books?'), which "
        "is not available under the profiler; it has no --no-input option: give its answers as "
        "arguments if it takes them, or profile the code it runs with profile_call."
    )
    assert info.value.returncode == 1
    assert out.getvalue() == err.getvalue() == ""
    assert capsys.readouterr().out == ""  # the question is quoted, not left on the terminal
    assert not list(tmp_path.iterdir())  # no report of a run that could not start


@pytest.mark.parametrize(
    ("command", "flag"),
    [
        ("flush", "--no-input"),
        ("changepassword", None),
        ("check", None),
        ("confirm", "--no-input"),  # its own option, whose dest is not "interactive"
    ],
)
def test_no_input_flag_of_a_command(command, flag):
    from django_profilecmds.prompts import no_input_flag

    assert no_input_flag(command) == flag


def test_an_interactive_option_is_not_suggested_as_the_way_not_to_prompt(db):
    with pytest.raises(CommandError, match=r"\('Go on\?'\), .*; pass its --no-input option"):
        run("profile_command", "confirm", no_files=True)
    out, _ = run("profile_command", "confirm", "--no-input", no_files=True)
    assert "Done." in out


def test_prompt_suggests_the_no_input_flag_when_there_is_one(member):
    with pytest.raises(
        CommandError, match=r"input \(\"Type 'yes' .*\"\), .*; pass its --no-input option"
    ):
        run("profile_command", "flush", no_files=True)
    assert type(member).objects.filter(pk=member.pk).exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("make_boks", "Unknown management command 'make_boks'. Did you mean 'make_books'?"),
        ("runserver", "cannot profile 'runserver': it never returns"),
        ("profile_command", "is a profiling command itself"),
    ],
)
def test_command_refusals(db, name, message):
    with pytest.raises(CommandError, match=message):
        run("profile_command", name, no_files=True)


def test_bad_arguments_of_the_profiled_command(db):
    err = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "profile_command",
            "make_books",
            "--count",
            "many",
            no_files=True,
            stdout=StringIO(),
            stderr=err,
        )
    assert "invalid int value: 'many'" in err.getvalue()


def _report(out: str) -> dict:  # type: ignore[type-arg]
    name = next(
        line.strip()
        for line in out.splitlines()
        if line.strip().endswith(".json") and "speedscope" not in line
    )
    return json.loads(Path(name).read_text())


def test_asgi_runs_async_middleware_and_async_view(books, member, tmp_path):
    out, _ = run("profile_view", "/async/", asgi=True, user=member.email, output_dir=tmp_path)
    data = _report(out)
    assert data["driver"] == "ASGI (full stack)"
    assert data["response"]["headers"]["X-Handler-Mode"] == "async"
    assert "async_books" in out
    wsgi, _ = run("profile_view", "/books/", output_dir=tmp_path)
    assert _report(wsgi)["response"]["headers"]["X-Handler-Mode"] == "sync"


def test_asgi_counts_the_same_queries_as_wsgi(books, member, tmp_path):
    asgi, _ = run("profile_view", "/books/", asgi=True, user=member.email, output_dir=tmp_path)
    wsgi, _ = run("profile_view", "/books/", user=member.email, output_dir=tmp_path)
    assert _report(asgi)["query_count"] == _report(wsgi)["query_count"] == 13
    assert "N+1: 12 similar queries" in asgi


def test_asgi_post_is_rolled_back_and_raising_view_fails(books, member):
    before = Book.objects.count()
    out, _ = run(
        "profile_view",
        "/books/create/",
        asgi=True,
        method="POST",
        data=["title=Async"],
        no_files=True,
    )
    assert "201 Created" in out and Book.objects.count() == before
    with pytest.raises(CommandError, match="raised an exception"):
        run("profile_view", "/explode/", asgi=True, no_files=True)


def test_asgi_and_direct_are_exclusive(db):
    with pytest.raises(CommandError, match="either --direct or --asgi"):
        run("profile_view", "/books/", asgi=True, direct=True, no_files=True)
