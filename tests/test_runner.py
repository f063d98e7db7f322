"""``runner.run``'s steps: what a spec names is resolved first, warm-up runs are not observed,
the profiler chosen is the one that runs, and each run starts from the same data."""

from __future__ import annotations

import pytest

from django_profilecmds.exceptions import PathNotFound
from django_profilecmds.runner import Plan, run
from django_profilecmds.spec import CallSpec, RequestSpec, RunSpec
from tests.testapp.models import Author

pytestmark = pytest.mark.django_db(databases="__all__")


def test_an_unknown_path_fails_before_anything_runs_with_the_closest_patterns():
    with pytest.raises(PathNotFound) as caught:
        Plan.of(RunSpec(request=RequestSpec("/book/")))
    assert "/books/" in str(caught.value)
    assert Author.objects.count() == 0


def test_the_plan_names_the_view_and_the_line_profiled_functions():
    plan = Plan.of(
        RunSpec(request=RequestSpec("/books/"), lines=("tests.testapp.views.book_list",))
    )
    assert plan.match is not None and plan.match.url_name == "book-list"
    assert [f.__name__ for f in plan.line_functions] == ["book_list"]
    assert plan.call is None


def test_warmup_runs_are_sent_but_not_counted(books):
    spec = RunSpec(request=RequestSpec("/books/"), profiler="none", warmup=2, repeat=3)
    result = run(spec)
    assert len(result.runs) == 3
    assert {q.run for q in result.queries} == {0, 1, 2}
    assert [r.queries for r in result.runs] == [13, 13, 13]  # 1 + 12 authors, every run


@pytest.mark.parametrize(
    ("profiler", "calltree", "function_stats"),
    [("pyinstrument", True, False), ("cprofile", False, True), ("none", False, False)],
)
def test_the_profiler_chosen_is_the_one_that_ran(books, profiler, calltree, function_stats):
    result = run(RunSpec(request=RequestSpec("/books/"), profiler=profiler))
    assert (result.calltree is not None) is calltree
    assert (result.function_stats is not None) is function_stats
    assert result.query_count == 13  # SQL is captured whatever the profiler


def test_every_run_starts_from_the_same_data():
    spec = RunSpec(
        request=RequestSpec("/books/create/", method="POST", data=(("title", "Dune"),)),
        profiler="none",
        repeat=3,
    )
    result = run(spec)
    assert [r.status for r in result.runs] == [201, 201, 201]
    # get_or_create finds no author in any run: each run's writes were rolled back before the next.
    inserts = [q for q in result.queries if q.sql.startswith('INSERT INTO "testapp_author"')]
    assert [q.run for q in inserts] == [0, 1, 2]
    assert Author.objects.count() == 0
    assert len(result.emails) == 3


def test_a_call_spec_runs_the_callable_and_counts_its_queries(books):
    spec = RunSpec(request=None, call=CallSpec("tests.testapp.lines.author_names"), profiler="none")
    result = run(spec)
    assert result.errors == [] and result.driver == "call"
    assert result.response.reason == "returned list with 12 items"
    assert result.query_count == 13  # the N+1 of author_names, counted like a view's
    assert result.view == "tests.testapp.lines.author_names"
