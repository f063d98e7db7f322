"""The renderers of a run's report files, each on a real run of the test app."""

from __future__ import annotations

import inspect
import json
import pstats
import re

import line_profiler
import pytest

from django_profilecmds import profile_request
from django_profilecmds.exceptions import ProfileCmdsError, UnknownRenderer
from django_profilecmds.reports.renderers import (
    RENDERERS,
    RunReport,
    get_renderer,
    renderers_for,
)
from django_profilecmds.reports.renderers.jsonrenderer import JsonRenderer
from django_profilecmds.runner import run
from django_profilecmds.spec import CallSpec, RunSpec
from tests.testapp import leaks, lines, views

pytestmark = pytest.mark.django_db(databases="__all__")


def render(name, result):
    renderer = get_renderer(name)
    assert renderer.applies(result)
    return renderer.render(RunReport(result))


def write(name, result, tmp_path):
    """A binary renderer's file, written as the report directory would have it."""
    path = tmp_path / f"run{get_renderer(name).extension}"
    with path.open("wb") as handle:
        render(name, result)(handle)
    return path


def line_of(function, text):
    """The number of the line of ``function`` that holds ``text``."""
    source, first = inspect.getsourcelines(function)
    return first + next(index for index, line in enumerate(source) if text in line)


def line_run():
    return run(
        RunSpec(
            request=None,
            call=CallSpec("tests.testapp.lines.author_names"),
            profiler="none",
            lines=("tests.testapp.lines.author_names",),
        )
    )


def test_the_registry_names_every_format_in_writing_order():
    assert {name: renderer.extension for name, renderer in RENDERERS.items()} == {
        "pyinstrument": ".pyinstrument.html",
        "speedscope": ".speedscope.json",
        "prof": ".prof",
        "lprof": ".lprof",
        "lines": ".lines.txt",
        "sql": ".sql.txt",
        "html": ".html",  # before the JSON: another run's index links to a report once its
        "json": ".json",  # JSON is complete
    }


def test_a_bad_renderer_name_lists_the_valid_ones(books):
    with pytest.raises(UnknownRenderer) as excinfo:
        get_renderer("pdf")
    assert isinstance(excinfo.value, ProfileCmdsError)
    assert str(excinfo.value) == (
        "Unknown renderer 'pdf'; choose from "
        "pyinstrument, speedscope, prof, lprof, lines, sql, html, json."
    )
    result = profile_request("/books/", profiler="none")
    with pytest.raises(UnknownRenderer, match="'flamegraph'"):
        renderers_for(result, also=["flamegraph"])


def test_each_run_has_the_files_its_profilers_left(books):
    def names(result, also=()):
        return [renderer.name for renderer in renderers_for(result, also=also)]

    sampled = profile_request("/books/")
    assert names(sampled) == ["pyinstrument", "sql", "html", "json"]
    assert names(sampled, also=["speedscope"]) == [
        "pyinstrument",
        "speedscope",
        "sql",
        "html",
        "json",
    ]
    assert names(profile_request("/books/", profiler="cprofile")) == ["prof", "sql", "html", "json"]
    assert names(line_run()) == ["lprof", "lines", "sql", "html", "json"]
    arithmetic = CallSpec("tests.testapp.lines.arithmetic", args=(10,))
    no_queries = run(RunSpec(request=None, call=arithmetic, profiler="none"))
    # What a run has no material for is never written, whatever is asked for.
    assert names(no_queries, also=["speedscope"]) == ["html", "json"]


def test_the_sql_listing_has_every_query_with_its_origin_and_masked_parameters(books):
    text = render("sql", profile_request("/books/", profiler="none"))
    assert text.startswith("# GET /books/\n")
    assert text.count("\n-- #") == 13  # the book list and one author per book
    origin = line_of(views.book_list, "return render(")
    assert f"--   at tests/testapp/views.py:{origin} in book_list" in text
    assert "--   template testapp/book_list.html:" in text  # where the N+1 is
    assert 'FROM "testapp_author"' in text
    planted = render("sql", profile_request("/leaks/lookups/", profiler="none"))
    assert "in password_lookups" in planted
    # SQLite and PostgreSQL (which casts the column to text) both show the lookup's column.
    assert re.search(r'"password"(::text)? LIKE', planted)
    assert leaks.CONTAINS not in planted and leaks.IEXACT not in planted


def test_the_prof_file_loads_with_pstats(books, tmp_path):
    result = profile_request("/books/", profiler="cprofile")
    stats = pstats.Stats(str(write("prof", result, tmp_path)))
    views = [key for key in stats.stats if key[2] == "book_list"]  # type: ignore[attr-defined]
    assert len(views) == 1 and views[0][0].endswith("tests/testapp/views.py")
    assert stats.stats[views[0]][0] == 1  # type: ignore[attr-defined]  # called once


def test_the_lprof_file_loads_with_line_profiler(books, tmp_path):
    result = line_run()
    loaded = line_profiler.load_stats(str(write("lprof", result, tmp_path)))
    assert loaded.unit == result.line_stats.unit
    assert loaded.timings == result.line_stats.timings
    ((_file, _first, function), timings) = next(iter(loaded.timings.items()))
    assert function == "author_names"
    assert 12 in {hits for _line, hits, _time in timings}  # the loop body, once per book


def test_the_line_tables_show_each_line_and_the_sql_it_ran(books):
    text = render("lines", line_run())
    assert text.startswith("Line profiling slows every profiled line")
    first = lines.author_names.__code__.co_firstlineno
    assert f"Function: tests/testapp/lines.py:{first} in author_names" in text
    loop_body = line_of(lines.author_names, "names.append(")
    row = next(line for line in text.splitlines() if "names.append(book.author.name)" in line)
    assert row.split()[:2] == [str(loop_body), "12"] and "12q" in row


def test_the_call_tree_page_opens_with_no_network(books):
    page = render("pyinstrument", profile_request("/books/"))
    assert page.lstrip().startswith("<!DOCTYPE html>")
    assert "book_list" in page
    assert "fonts.googleapis.com" not in page and "fonts.gstatic.com" not in page


def test_the_speedscope_file_has_the_samples_in_time_order(books):
    result = profile_request("/books/", interval=0.0002)
    document = json.loads(render("speedscope", result))
    assert document["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert document["name"].startswith("CPU profile for 'GET /books/'")
    assert "book_list" in {frame["name"] for frame in document["shared"]["frames"]}
    assert document["profiles"][0]["type"] == "evented"


def test_the_html_report_holds_the_call_tree_and_the_nplusone(books):
    page = render("html", profile_request("/books/"))
    assert "<title>GET /books/ · django-profilecmds</title>" in page
    assert '<iframe class="calltree"' in page and "book_list" in page
    assert "<b>N+1:</b> 12 similar queries per run from one line" in page


def test_the_json_starts_with_its_index_row_and_lists_the_files(books, tmp_path):
    result = profile_request("/books/", profiler="none")
    report = RunReport(result, files={"sql": tmp_path / "run.sql.txt"})
    text = JsonRenderer().render(report)
    assert text.startswith('{"index_row": {"created": ')
    document = json.loads(text)
    assert document["index_row"]["queries"] == 13 and document["index_row"]["nplusone"] == 1
    assert document["files"] == {"sql": str(tmp_path / "run.sql.txt")}
    assert {key: value for key, value in document.items() if key != "index_row"} == json.loads(
        json.dumps({**result.to_dict(), "files": document["files"]})
    )
