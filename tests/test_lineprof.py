"""lineprof: per-line timings of every kind of target, through both drivers, with SQL."""

from __future__ import annotations

import inspect
import json
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.backends.utils import CursorWrapper
from line_profiler import LineProfiler

from django_profilecmds.targets import resolve_target
from tests.testapp import lines, views
from tests.testapp.models import Book

pytestmark = pytest.mark.django_db(databases="__all__")


def lineprof(*args, **options):
    out = StringIO()
    call_command("lineprof", *args, stdout=out, stderr=StringIO(), no_files=True, **options)
    return out.getvalue()


def row(out: str, source: str) -> list[str]:
    """The columns of the report line whose contents include ``source``."""
    line = next(line for line in out.splitlines() if source in line and line[:6].strip())
    return line.split()


def line_of(function, text: str) -> int:
    source, first = inspect.getsourcelines(function)
    return first + next(i for i, line in enumerate(source) if text in line)


def test_hits_match_line_profilers_own(db):
    bare = LineProfiler()
    bare.add_function(lines.arithmetic)
    bare.enable_by_count()
    lines.arithmetic(50, scale=2)
    bare.disable_by_count()
    ((_key, expected),) = bare.get_stats().timings.items()

    out = lineprof(
        "tests.testapp.lines.arithmetic", call="", call_args="[50]", call_kwargs='{"scale": 2}'
    )
    for lineno, hits, _time in expected:
        columns = next(
            line.split() for line in out.splitlines() if line.split()[:1] == [str(lineno)]
        )
        assert int(columns[1]) == hits, (lineno, columns)
    assert "Returned int" in out


def test_the_note_on_inflated_times_claims_no_figure_the_run_did_not_measure(db):
    # The runs are all line-profiled: nothing measures how much slower that made them.
    out = lineprof("tests.testapp.lines.arithmetic", call="", call_args="[5]")
    note = next(line for line in out.splitlines() if line.startswith("Line profiling"))
    assert note == (
        "Line profiling slows every profiled line, so absolute times are inflated: "
        "read the % Time column."
    )


def test_hits_match_line_profilers_own_around_queries(books):
    """The query bookkeeping runs with line tracing suspended: no line event of the profiled
    function is lost, even on the lines right after a query, and the tracer is put back."""
    bare = LineProfiler()
    bare.add_function(lines.queries_then_arithmetic)
    bare.enable_by_count()
    lines.queries_then_arithmetic(6)
    bare.disable_by_count()
    ((_key, expected),) = bare.get_stats().timings.items()
    tracer = sys.gettrace()  # None, or a coverage tool's

    out = lineprof("tests.testapp.lines.queries_then_arithmetic", call="", call_args="[6]")
    assert sys.gettrace() is tracer
    assert row(out, "total += i")[1] == "6"
    for lineno, hits, _time in expected:
        columns = next(
            line.split() for line in out.splitlines() if line.split()[:1] == [str(lineno)]
        )
        assert int(columns[1]) == hits, (lineno, columns)
    assert row(out, "cursor.execute(")[5] == "6q"


def test_profiled_django_code_gets_no_hits_from_the_query_bookkeeping(books):
    """Recording each query runs none of the Python a user may be line-profiling (here the
    method behind Django's cursor attributes): its hits are exactly a bare LineProfiler's."""
    bare = LineProfiler()
    bare.add_function(CursorWrapper.__getattr__)
    bare.enable_by_count()
    lines.author_names()
    bare.disable_by_count()
    ((_key, expected),) = bare.get_stats().timings.items()

    out = lineprof(
        "django.db.backends.utils.CursorWrapper.__getattr__",
        call="tests.testapp.lines.author_names",
    )
    assert "13 queries" in out
    for lineno, hits, _time in expected:
        columns = next(
            line.split() for line in out.splitlines() if line.split()[:1] == [str(lineno)]
        )
        assert int(columns[1]) == hits, (lineno, columns)


def test_sql_lands_on_the_loop_line_of_a_view(books):
    out = lineprof("tests.testapp.views.book_authors", url="/books/authors/")
    loop_body = row(out, "names.append(book.author.name)")
    assert loop_body[0] == str(line_of(views.book_authors, "names.append"))
    assert loop_body[1] == "12" and "12q" in loop_body
    header = row(out, "for book in Book.objects.all():")
    assert "1q" in header  # the list itself


def test_auto_url_for_a_view_without_arguments(books):
    out = lineprof("tests.testapp.views.book_authors")
    assert "Using --url /books/authors/" in out
    assert "12q" in out


def test_a_drf_viewset_action_is_sent_to_its_route_with_its_method(books, member):
    out = lineprof("tests.testapp.api.BookViewSet.list")
    assert "Using --url /api/books/ (the URL routed to the target)." in out
    assert "GET /api/books/ -> tests.testapp.api.BookViewSet" in out
    assert "200 OK" in out
    assert row(out, "return Response(serializer.data)")[1] == "1"  # DRF's ListModelMixin.list
    out = lineprof(
        "tests.testapp.api.BookViewSet.create",
        json=json.dumps({"title": "New", "author": books[0].author_id}),
        user=member.email,
    )
    assert "Using --url /api/books/ --method POST (the URL and method routed to the target)." in out
    assert "POST /api/books/ -> tests.testapp.api.BookViewSet" in out
    assert "201 Created" in out


def test_a_regex_route_is_requested_by_a_path_it_matches(books):
    out = lineprof("tests.testapp.api.AuthorNames.list")
    assert "Using --url /api/tags (the URL routed to the target)." in out
    assert "200 OK" in out


def test_a_detail_route_needs_the_url(books):
    with pytest.raises(CommandError, match=r"GET /api/books/<pk>/ takes arguments") as info:
        lineprof("tests.testapp.api.BookViewSet.retrieve")
    assert info.value.returncode == 1


def test_decorated_view_is_unwrapped(member):
    out = lineprof("tests.testapp.views.private", url="/private/", user=member.email)
    assert "is decorated; profiling the real body" in out
    assert row(out, 'return HttpResponse(f"Hello')[1] == "1"


def test_class_based_view_and_one_of_its_methods(books):
    out = lineprof("tests.testapp.views.BookListView", url="/books/cbv/")
    assert row(out, 'return Book.objects.order_by("id")')[1] == "1"
    out = lineprof("tests.testapp.views.BookListView.get_queryset")
    assert "Using --url /books/cbv/" in out


def test_class_members_of_every_kind(books):
    out = lineprof("tests.testapp.lines.Shelf", call="tests.testapp.lines.use_shelf")
    assert row(out, "return [book.title for book in Book.objects.all()]")[1] == "1"
    assert "1q" in row(out, "return Book.objects.count()")  # the property
    assert row(out, 'return "book"')[1] == "1"  # staticmethod
    assert row(out, "return cls()")[1] == "1"  # classmethod
    assert "label_text" not in out  # defined on the subclass, not on Shelf


def test_inherited_methods_from_project_bases(books):
    out = lineprof(
        "tests.testapp.lines.LabelledShelf", call="tests.testapp.lines.use_shelf", inherited=True
    )
    assert row(out, "return self.label.title()")[1] == "1"
    assert row(out, "return cls()")[1] == "1"


def test_whole_module(books):
    out = lineprof("tests.testapp.lines", call="tests.testapp.lines.author_names")
    assert row(out, "names.append(book.author.name)")[1] == "12"
    assert "in arithmetic: never executed" in out


def test_generator_async_and_decorated_function(books):
    out = lineprof("tests.testapp.lines.numbers", call="", call_args="[4]")
    assert row(out, "yield i * 2")[1] == "4"
    assert "Returned list with 4 items" in out
    out = lineprof("tests.testapp.lines.slow_count", call="")
    assert "return await Book.objects.acount()" in out
    assert "Returned int" in out
    out = lineprof("tests.testapp.lines.greet", call="", call_args='["ada"]')
    assert "is decorated" in out and row(out, 'return f"hello {name}"')[1] == "1"


def test_input_factory_feeds_the_first_argument(books):
    out = lineprof(
        "tests.testapp.lines.arithmetic", call="", input="tests.testapp.lines.book_count"
    )
    assert "Returned int" in out
    assert row(out, "for i in range(n):")[1] == "13"  # n is the 12 books, plus the loop exit


def test_never_executed_target_says_why(books):
    out = lineprof("tests.testapp.lines.arithmetic", url="/books/")
    assert (
        "never executed (did the URL route elsewhere? it ran tests.testapp.views.book_list)" in out
    )


def test_call_is_rolled_back(books):
    before = Book.objects.count()
    lineprof("tests.testapp.views.book_authors", call="tests.testapp.lines.author_names")
    assert Book.objects.count() == before


def test_files(books, tmp_path):
    out = StringIO()
    call_command(
        "lineprof", "tests.testapp.lines.author_names", call="", output_dir=tmp_path, stdout=out
    )
    names = sorted(path.name.split(".", 1)[1] for path in tmp_path.iterdir())
    assert names == ["html", "html", "json", "lines.txt", "lprof", "sql.txt"]  # + index.html
    from line_profiler import load_stats

    stats = load_stats(str(next(tmp_path.glob("*.lprof"))))
    assert any(key[0].endswith("lines.py") for key in stats.timings)
    assert "names.append(book.author.name)" in next(tmp_path.glob("*.lines.txt")).read_text()


def test_resolve_target_kinds():
    assert resolve_target("tests.testapp.lines.arithmetic").kind == "function"
    assert resolve_target("tests.testapp.lines.Shelf.titles").kind == "method"
    shelf = resolve_target("tests.testapp.lines.Shelf")
    assert shelf.kind == "class" and len(shelf.functions) == 4
    assert resolve_target("tests.testapp.lines").kind == "module"


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (
            ["tests.testapp.nope"],
            {"call": ""},
            r"'tests.testapp' has no attribute or submodule 'nope'",
        ),
        (
            ["tests.testapp.lines.arithmetc"],
            {"call": ""},
            r"Did you mean 'tests.testapp.lines.arithmetic'",
        ),
        (["nosuchpackage.views"], {"call": ""}, r"No module named 'nosuchpackage'"),
        (["builtins.len"], {"call": ""}, r"builtin or C function"),
        (["tests.testapp.lines.NOT_A_FUNCTION"], {"call": ""}, r"is a int, not a function"),
        (["tests.testapp.lines.Empty"], {"call": ""}, r"defines no Python methods"),
        (["tests.testapp.lines.arithmetic"], {"call": "", "url": "/books/"}, r"not both"),
        (
            ["tests.testapp.lines.arithmetic"],
            {"call": "", "call_args": "[1,"},
            r"--args is not valid JSON",
        ),
        (
            ["tests.testapp.lines.arithmetic"],
            {"call": "", "call_args": "{}"},
            r"--args must be a JSON list",
        ),
        (
            ["tests.testapp.lines.arithmetic"],
            {"call": "", "call_kwargs": "[]"},
            r"--kwargs must be a JSON object",
        ),
        (
            ["tests.testapp.lines.arithmetic"],
            {},
            r"No URL without arguments routes to these targets",
        ),
        (["tests.testapp.lines.arithmetic"], {"call_args": "[1]"}, r"go with --call"),
        (["tests.testapp.lines.arithmetic"], {"call": "", "unit": "ns"}, r"Unknown --unit 'ns'"),
        (["a.b", "c.d"], {"call": ""}, r"exactly one target"),
    ],
)
def test_bad_input_is_a_clear_error(args, options, message):
    with pytest.raises(CommandError, match=message) as info:
        lineprof(*args, **options)
    assert info.value.returncode == 1


@pytest.mark.parametrize(
    ("module", "error"),
    [
        ("raises_on_import", "ValueError: cannot reach"),
        ("syntax_error", "SyntaxError: "),
        ("exits_on_import", "SystemExit: 7"),
    ],
)
@pytest.mark.parametrize("options", [{}, {"call": ""}, {"url": "/books/"}])
def test_target_module_that_fails_to_import(module, error, options):
    dotted = f"tests.testapp.hostile.{module}"
    with pytest.raises(CommandError) as info:
        lineprof(f"{dotted}.func", **options)
    message = str(info.value)
    assert info.value.returncode == 1 and "\n" not in message
    assert message.startswith(f"Importing {dotted!r} raised {error}")
    assert message.endswith("; fix the module or check the name.")


def test_cprofile_and_lines_are_refused():
    from django_profilecmds.exceptions import InvalidOption
    from django_profilecmds.spec import CallSpec, RunSpec

    with pytest.raises(InvalidOption, match="cannot run in the same pass"):
        RunSpec(request=None, call=CallSpec("x.y"), profiler="cprofile", lines=("x.y",))


def test_raising_call_exits_1(db):
    with pytest.raises(CommandError, match="The call raised an exception"):
        lineprof("tests.testapp.lines.arithmetic", call="", call_args='["x"]')
