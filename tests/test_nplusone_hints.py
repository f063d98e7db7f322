"""The N+1 hints on every relation kind: each printed fix is applied to the view's queryset
(as a developer would edit the view), the request runs again, and its N+1 must be gone, with
the query count down to the constant the fix gives. A hint that does not remove its N+1, or
that raises when applied, fails here."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from django_profilecmds import profile_request
from tests.nplusone import views
from tests.nplusone.models import Genre, Label, Novel, Price, Publisher, Writer, WriterProfile

pytestmark = pytest.mark.django_db(databases="__all__")

ROWS = 6


@pytest.fixture
def library(db):
    publishers = [Publisher.objects.create(name=f"Publisher {i}") for i in range(2)]
    writers = [
        Writer.objects.create(name=f"Writer {i}", publisher=publishers[i % 2]) for i in range(ROWS)
    ]
    for writer in writers:
        WriterProfile.objects.create(writer=writer, bio=f"Bio of {writer.name}")
    genres = [Genre.objects.create(name=f"Genre {i}") for i in range(ROWS)]
    novels = []
    for i in range(ROWS):
        novel = Novel.objects.create(
            title=f"Novel {i}", summary=f"About {i}", writer=writers[i], editor=writers[-1 - i]
        )
        novel.genres.set(genres[: 1 + i % 3])
        novel.shortlisted.set(genres[i % 3 :][:2])
        for amount, currency in ((10 + i, "EUR"), (20 + i, "USD")):
            Price.objects.create(novel=novel, amount=amount, currency=currency)
        Label.objects.create(name=f"label {i}", content_object=novel)
        Label.objects.create(name=f"writer label {i}", content_object=writers[i])
        novels.append(novel)
    return novels


@pytest.fixture(autouse=True)
def no_fixes():
    views.FIXES.clear()
    yield
    views.FIXES.clear()


# view, the N+1 fixes it should get (model, method, lookup, to_attr), queries once fixed.
CASES = [
    ("forward", [("nplusone.Novel", "select_related", "writer", None)], 1),
    ("editors", [("nplusone.Novel", "select_related", "editor", None)], 1),
    ("one_to_one", [("nplusone.WriterProfile", "select_related", "writer", None)], 1),
    ("reverse_one", [("nplusone.Writer", "select_related", "profile", None)], 1),
    ("prices", [("nplusone.Novel", "prefetch_related", "prices", None)], 2),
    ("genres", [("nplusone.Novel", "prefetch_related", "genres", None)], 2),
    ("genre_novels", [("nplusone.Genre", "prefetch_related", "novels", None)], 2),
    ("labels", [("nplusone.Novel", "prefetch_related", "labels", None)], 2),
    # Novels and writers: one query per content type.
    ("labelled", [("nplusone.Label", "prefetch_related", "content_object", None)], 3),
    ("summaries", [("nplusone.Novel", "only", "summary", None)], 1),
    # select_related("writer") is there already: the profile is reached from the novels.
    ("joined_then_profile", [("nplusone.Novel", "select_related", "writer__profile", None)], 1),
    ("cheapest", [("nplusone.Novel", "prefetch_related", "prices", "prices_list")], 2),
    ("euro", [("nplusone.Novel", "prefetch_related", "prices", "prices_list")], 2),
    ("counts", [("nplusone.Novel", "prefetch_related", "prices", None)], 2),
    # Django counts a many-to-many on its through table: still the relation the code read.
    (
        "genre_counts",
        [
            ("nplusone.Novel", "prefetch_related", "genres", None),
            ("nplusone.Novel", "prefetch_related", "shortlisted", None),
        ],
        3,
    ),
    ("include", [("nplusone.Novel", "select_related", "writer", None)], 1),
    ("inclusion", [("nplusone.Novel", "select_related", "writer", None)], 1),
    ("extended", [("nplusone.Novel", "select_related", "writer", None)], 1),
    (
        "api",
        [
            ("nplusone.Novel", "select_related", "writer", None),
            ("nplusone.Novel", "prefetch_related", "genres", None),
        ],
        2,
    ),
]


def _sql(path):
    result = profile_request(path, profiler="none")
    assert result.status == 200 and result.sql is not None
    return result.sql


def _flags(path):
    return _sql(path).nplusone


def _key(fix):
    return (fix.model, fix.method, fix.lookup, fix.to_attr)


@pytest.mark.parametrize(("view", "expected", "fixed_count"), CASES, ids=[c[0] for c in CASES])
def test_each_printed_fix_removes_its_nplusone(library, view, expected, fixed_count):
    path = f"/n/{view}/"
    flags = _flags(path)
    assert all(flag.fix for flag in flags), [flag.hint for flag in flags]
    fixes = list({_key(flag.fix): flag.fix for flag in flags}.values())
    assert sorted(_key(fix) for fix in fixes) == sorted(expected)
    for flag in flags:  # the words name the same fix
        assert f'"{flag.fix.lookup}"' in flag.hint
        assert f"the {flag.fix.model.split('.')[1]} queryset" in flag.hint
    for applied in range(1, len(fixes) + 1):
        views.FIXES[view] = fixes[:applied]
        again = _sql(path)
        left = [flag for flag in flags if _key(flag.fix) not in map(_key, fixes[:applied])]
        assert len(again.nplusone) == len(left)  # each fix removes its own
    assert again.total == fixed_count


def test_nested_relations_get_the_lookup_from_the_looped_model(library):
    by_lookup = {flag.fix.lookup: flag for flag in _flags("/n/publishers/")}
    assert set(by_lookup) == {"writer", "writer__publisher"}
    assert 'select_related("writer__publisher") to the Novel queryset' in (
        by_lookup["writer__publisher"].hint
    )
    views.FIXES["publishers"] = [by_lookup["writer__publisher"].fix]
    again = _sql("/n/publishers/")
    assert again.nplusone == [] and again.total == 1


def test_a_loop_of_lookups_is_not_called_a_relation(library):
    (flag,) = _flags("/n/lookups/")
    assert flag.fix is None
    assert (
        "Not a relation of a queryset's rows: lookups runs this query once per iteration of a loop"
        in flag.hint
    )
    assert "select_related" not in flag.hint and "prefetch_related" not in flag.hint


def test_a_save_per_row_is_told_to_batch_its_writes(library):
    (flag,) = _flags("/n/saves/")
    assert flag.fix is None and flag.shape.startswith("UPDATE")
    assert flag.hint == (
        "Not a relation of a queryset's rows: saves runs this query once per iteration of a "
        "loop; write them in one query with bulk_update() or a single update()."
    )


def test_with_no_project_frame_the_library_loop_is_the_origin(library):
    result = profile_request("/n/api/", profiler="none", direct=True)  # no project middleware
    assert result.sql is not None
    flags = {flag.fix.lookup: flag for flag in result.sql.nplusone if flag.fix}
    assert set(flags) == {"writer", "genres"}
    for flag in flags.values():
        assert flag.origin == "(no project code)" and flag.stack == []
        assert flag.library[0].startswith("rest_framework/")
        assert flag.library_loop and "ListSerializer.to_representation" in flag.library_loop
    from django_profilecmds.result import RunResult

    again = RunResult.from_dict(result.to_dict())  # what the JSON report holds, read back
    assert again.sql is not None and again.sql.nplusone == result.sql.nplusone
    out = StringIO()
    call_command(
        "profile_view", "/n/api/", "--direct", "--no-files", "--profiler", "none", stdout=out
    )
    text = out.getvalue()
    assert "       in a library: rest_framework/" in text
    assert "          looping at rest_framework/serializers.py:" in text
    assert 'fix: Add select_related("writer") to the Novel queryset' in text


def test_the_relation_the_code_used_is_named_among_two_to_the_same_model(library):
    (writer,) = _flags("/n/forward/")
    (editor,) = _flags("/n/editors/")
    assert writer.fix.lookup == "writer" and editor.fix.lookup == "editor"


def test_includes_and_inclusion_tags_keep_the_outer_loop(library):
    flag = _flags("/n/include/")[0]
    assert flag.template == "nplusone/row.html:2"
    assert flag.templates == ["nplusone/row.html:2", "nplusone/include.html:3"]
    assert flag.loop == "nplusone/include.html:2"
    flag = _flags("/n/inclusion/")[0]
    assert flag.templates == ["nplusone/row.html:2", "nplusone/inclusion.html:4"]
    assert flag.loop == "nplusone/inclusion.html:3"
    flag = _flags("/n/extended/")[0]
    assert flag.template == "nplusone/extended.html:4"
    assert flag.loop == "nplusone/base.html:3"


def test_library_only_nplusone_names_the_library_loop(library):
    flags = {flag.fix.lookup: flag for flag in _flags("/n/api/")}
    for flag in flags.values():
        # The nearest project frame is the test project's middleware; the loop is DRF's.
        assert flag.origin.startswith("tests/testapp/middleware.py:")
        assert flag.library and flag.library[0].startswith("rest_framework/")
        assert flag.library_loop is not None
        assert flag.library_loop.startswith("rest_framework/serializers.py:")
        assert flag.count == ROWS


def test_generic_relation_on_two_models_is_told_apart(library):
    ContentType.objects.clear_cache()
    flags = _flags("/n/labels/")
    assert [(f.fix.model, f.fix.lookup) for f in flags] == [("nplusone.Novel", "labels")]


def test_a_prefetch_keeps_the_ordering_the_code_used(library):
    (cheapest,) = _flags("/n/cheapest/")
    assert (
        'Prefetch("prices", queryset=Price.objects.order_by("amount")[:1], to_attr="prices_list")'
        in (cheapest.hint)
    )
    assert "(ordered, sliced)" in cheapest.hint
    (euro,) = _flags("/n/euro/")
    assert 'queryset=Price.objects.filter(<the same filter>), to_attr="prices_list"' in euro.hint


def test_two_loops_one_after_the_other_are_not_taken_for_a_chain(library):
    # A loop over novels reading novel.writer, then a loop over writers reading
    # writer.publisher: the second hint goes on the Writer queryset.
    by_lookup = {flag.fix.lookup: flag.fix for flag in _flags("/n/two_loops/") if flag.fix}
    assert set(by_lookup) == {"writer", "publisher"}
    assert by_lookup["publisher"].model == "nplusone.Writer"
    assert by_lookup["writer"].model == "nplusone.Novel"


def test_last_reverses_the_ordering_and_two_prefetches_get_two_names(library):
    flags = _flags("/n/best_and_worst/")
    fixes = sorted((flag.fix.to_attr, flag.hint) for flag in flags if flag.fix)
    assert [to_attr for to_attr, _hint in fixes] == ["prices_list", "prices_list_2"]
    hints = " ".join(hint for _to_attr, hint in fixes)
    assert 'Price.objects.order_by("amount")[:1]' in hints  # .first()
    assert 'Price.objects.order_by("-amount")[:1]' in hints  # .last(): the other end
    views.FIXES["best_and_worst"] = [flag.fix for flag in flags if flag.fix]
    again = _sql("/n/best_and_worst/")
    assert again.nplusone == [] and again.total == 3


def test_an_aggregate_per_row_is_told_to_annotate(library):
    (flag,) = _flags("/n/averages/")
    assert flag.fix is None
    assert "which a prefetch cannot answer: annotate the Novel queryset" in flag.hint
    assert "prefetch_related(" not in flag.hint


def test_two_many_to_manys_to_one_model_are_each_named(library):
    got = sorted(flag.fix.lookup for flag in _flags("/n/two_m2m/") if flag.fix)
    assert got == ["genres", "shortlisted"]


def test_two_owners_of_one_generic_relation_are_told_apart(library):
    got = sorted((flag.fix.model, flag.fix.lookup) for flag in _flags("/n/two_owners/") if flag.fix)
    assert got == [("nplusone.Novel", "labels"), ("nplusone.Writer", "labels")]


def test_a_reload_per_row_is_no_relation(library):
    (flag,) = _flags("/n/reloads/")
    assert flag.fix is None and "Not a relation" in flag.hint


def test_a_library_loop_under_a_project_middleware_is_shown_as_the_librarys(library):
    """Through the full stack the nearest project frame is a middleware, which says nothing of
    where the loop is: the serializer's frames are shown, then the middleware they ran under."""
    out = StringIO()
    call_command("profile_view", "/n/api/", "--no-files", "--profiler", "none", stdout=out)
    text = out.getvalue()
    block = text.split('fix: Add select_related("writer")')[0].rsplit("N+1:", 1)[1]
    assert "       in a library: rest_framework/" in block
    assert "          looping at rest_framework/serializers.py:" in block
    assert "          under tests/testapp/middleware.py:" in block


def test_a_class_based_views_hint_says_where_its_queryset_is_built(library):
    """For a DRF view (as for a generic view) the hint names the method that builds the rows'
    queryset, the place the fix goes; a function view's hint stays as it was."""
    result = profile_request("/n/api/", profiler="none")
    assert result.sql is not None
    hints = [flag.hint for flag in result.sql.nplusone if flag.fix]
    assert len(hints) == 2
    for hint in hints:
        assert hint.endswith(
            "The queryset is built in NovelList.get_queryset (tests/nplusone/api.py:30)."
        )
    (forward,) = _flags("/n/forward/")
    assert "The queryset is built" not in forward.hint


def test_a_count_per_row_hint_says_what_to_read_when_counting_in_sql(library):
    (flag,) = _flags("/n/counts/")
    assert 'annotate(prices_count=Count("prices"))' in flag.hint
    assert "read row.prices_count in place of .count()" in flag.hint
    from django.db.models import Count

    from tests.nplusone.models import Novel

    # What the alternative says, done: the count comes with the rows, no query per row.
    rows = list(Novel.objects.annotate(prices_count=Count("prices")))
    assert rows and all(row.prices_count == row.prices.count() for row in rows)
