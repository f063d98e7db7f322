"""The call tree behind the HTML report: pyinstrument's samples merged by call path."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from django_profilecmds import profile_request
from django_profilecmds.collectors.calltree import merge_call_paths

pytestmark = pytest.mark.django_db(databases="__all__")


def time_by_path(frame, path=(), totals=None):
    """Total time under every call path of pyinstrument's tree, siblings of one name merged."""
    totals = Counter() if totals is None else totals
    path = (*path, frame.identifier)
    totals[path] += frame.time
    for child in frame.children:
        time_by_path(child, path, totals)
    return totals


def test_merged_samples_give_the_same_call_tree(books):
    session = profile_request("/books/", repeat=3, interval=0.0002).calltree
    assert session is not None and len(session.frame_records) > 50
    merged = merge_call_paths(session)
    assert len(merged.frame_records) < len(session.frame_records)
    assert sum(t for _s, t in merged.frame_records) == pytest.approx(
        sum(t for _s, t in session.frame_records)
    )
    before, after = time_by_path(session.root_frame()), time_by_path(merged.root_frame())
    assert before.keys() == after.keys()
    for path, seconds in before.items():
        assert after[path] == pytest.approx(seconds, abs=1e-9), path
    assert any(path[-1].startswith("book_list\x00") for path in after)
    # The line each sample was on is gone; the class of a method is kept.
    frames = {frame for stack, _t in merged.frame_records for frame in stack}
    assert not any("\x01l" in frame for frame in frames)
    assert any("\x01c" in frame for frame in frames)


def _profile_view(path: str, *args: str) -> str:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("profile_view", path, "--no-files", "--interval", "0.0002", *args, stdout=out)
    return out.getvalue()


def test_a_hot_path_in_library_code_shows_the_hottest_library_functions(db):
    from tests.nplusone.models import Novel, Publisher, Writer
    from tests.test_nplusone_hints import ROWS  # a serializer loop: all its frames are DRF's

    publisher = Publisher.objects.create(name="P")
    for i in range(ROWS * 5):
        writer = Writer.objects.create(name=f"W{i}", publisher=publisher)
        Novel.objects.create(title=f"N{i}", writer=writer)
    text = _profile_view("/n/api/", "--repeat", "3")
    heading = "Library code holds the hot path under HandlerModeMiddleware.__call__"
    assert heading in text
    section = text[text.index(heading) :].splitlines()
    rows = section[1:-1]
    assert rows and section[-1] == "--show-all shows every frame of the tree."
    assert all(row.split()[0].replace(".", "").isdigit() for row in rows)  # seconds first
    assert any("rest_framework/" in row or "django/" in row for row in rows)
    assert "Library code holds the hot path" not in _profile_view("/n/api/", "--show-all")


def test_no_library_section_when_project_code_holds_the_time(db):
    text = _profile_view("/busy/", "--repeat", "3")
    assert "_crunch  tests/testapp/views.py" in text  # the tree shows where the time goes
    assert "Library code holds the hot path" not in text


def _time_in(session, name: str) -> float:
    """Seconds of the tree under frames of the function ``name`` (outermost occurrences)."""

    def walk(frame) -> float:
        if frame.function == name:
            return frame.time
        return sum(walk(child) for child in frame.children)

    root = session.root_frame()
    return walk(root) if root is not None else 0.0


def _frames_named(frame: Any, name: str) -> list[Any]:
    found = [frame] if frame.function == name else []
    for child in frame.children:
        found += _frames_named(child, name)
    return found


def _ancestors(frame: Any) -> list[str]:
    names = []
    while frame.parent is not None:
        frame = frame.parent
        names.append(frame.function)
    return names


@pytest.mark.parametrize("asgi", [False, True], ids=["wsgi", "asgi"])
def test_a_sync_views_own_frames_are_in_the_call_tree(db, asgi):
    """Under ASGI a sync view runs on a worker thread of asgiref's: its frames are still there,
    under the view, as over WSGI (they were an ``[await]`` with nothing below it)."""
    result = profile_request("/busy/", asgi=asgi, interval=0.0005, warmup=0)
    session = result.calltree
    assert session is not None
    root = session.root_frame()
    assert root is not None
    crunches = _frames_named(root, "_crunch")
    assert crunches and all(frame.time > 0 for frame in crunches), asgi
    # Each under the view that called it (not hung at the root, beside the await).
    for frame in crunches:
        assert "busy" in _ancestors(frame)


def test_an_async_views_own_frames_are_in_the_asgi_call_tree(books):
    result = profile_request("/async/", asgi=True, interval=0.0005, warmup=0)
    session = result.calltree
    assert session is not None
    assert _time_in(session, "async_books") > 0


HARNESS = "django_profilecmds"


def _file_of(frame: str) -> str:
    """The file of a pyinstrument frame (``[await]`` and other markers have none)."""
    parts = frame.split("\x00")
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize("asgi", [False, True], ids=["wsgi", "asgi"])
def test_the_harness_is_not_in_the_call_tree(books, asgi):
    """The N+1 page's tree holds the project's and Django's frames only: the harness's query
    bookkeeping, its profiler start/stop and its SQL wrapper are out, and the time it added is
    measured apart, per run."""
    in_queries = []
    for _attempt in range(6):  # until a sample lands inside a query (it is sampling)
        result = profile_request("/books/", asgi=asgi, interval=0.0002, warmup=0)
        session = result.calltree
        assert session is not None
        raw_frames = {f for stack, _t in session.frame_records for f in stack[1:]}
        assert not [f for f in raw_frames if f"/{HARNESS}/" in _file_of(f)]
        # The query hangs under Django's cursor, not under the wrapper that recorded it.
        in_queries = [
            stack[i + 1]
            for stack, _t in session.frame_records
            for i in range(len(stack) - 1)
            if "_execute_with_wrappers" in stack[i]
        ]
        if in_queries:
            break
    assert in_queries, "no sample landed in a query in six runs"
    assert all("django/db/backends" in _file_of(callee) for callee in in_queries), in_queries
    assert result.query_count > 10
    assert all(run.overhead > 0 for run in result.runs)
    assert result.overhead < result.wall.median
    assert result.to_dict()["runs"][0]["overhead"] == result.runs[0].overhead


def test_the_harness_is_not_in_cprofiles_table(books):
    result = profile_request("/books/", profiler="cprofile", warmup=0)
    assert result.function_stats is not None
    files = {key[0] for key in result.function_stats.stats}  # type: ignore[attr-defined]
    assert any("testapp/views.py" in name for name in files)
    assert not [name for name in files if f"/{HARNESS}/" in name]


def test_the_summary_says_how_much_of_the_wall_time_was_the_harnesss(books):
    out = _profile_view("/books/", "--profiler", "none")
    wall = next(line for line in out.splitlines() if line.strip().startswith("wall "))
    assert " recording SQL) · CPU " in wall


def test_cprofile_over_asgi_has_the_sync_views_functions(db):
    result = profile_request("/busy/", asgi=True, profiler="cprofile", warmup=0)
    assert result.function_stats is not None
    table = result.function_stats.stats  # type: ignore[attr-defined]
    crunch = [entry for key, entry in table.items() if key[2] == "_crunch"]
    assert crunch and crunch[0][1] == 1  # called once, and seen


def test_a_call_and_a_command_tree_start_at_the_profiled_code(db):
    from django_profilecmds import profile_call

    result = profile_call("tests.testapp.views._crunch", args=[200_000], interval=0.0005)
    root = result.calltree.root_frame() if result.calltree else None
    assert root is not None and root.function == "_crunch"


def test_a_page_with_no_project_frame_still_gets_its_hottest_library_functions(books):
    """A generic view with the view alone (no project middleware): every frame of the hot path
    is Django's, and the summary lists its hottest functions from the top of the tree."""
    out = _profile_view("/books/cbv/", "--direct")
    assert "Library code holds the hot path under " in out
    assert "--show-all shows every frame of the tree." in out


def test_commit_is_said_once_and_a_raising_call_is_not_a_view(db):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = _profile_view("/books/", "--commit", "--profiler", "none")
    assert out.lower().count("kept") == 1 and "were KEPT" in out
    stdout, stderr = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command(
            "profile_call", "tests.testapp.views._crunch", "--args", '["x"]', "--no-files",
            stdout=stdout, stderr=stderr,
        )  # fmt: skip
    assert "The code raised an exception (no response)" in stdout.getvalue() + stderr.getvalue()
