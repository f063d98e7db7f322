"""Replay aggregation: exact counts, bounded samples, and merges equal to a single pass."""

from __future__ import annotations

import random
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_profilecmds.analysis.replay import (
    ReplayStats,
    RequestSample,
    Reservoir,
    path_prefix,
    samples_entries,
)
from django_profilecmds.analysis.stats import percentile

VIEWS = ("book-list", "book-authors", "echo")


def sample(view: str, wall: float, queries: int = 1, **extra: object) -> RequestSample:
    fields: dict[str, object] = {
        "view": view,
        "function": f"tests.testapp.views.{view}",
        "method": "GET",
        "path": f"/{view}/",
        "wall": wall,
        "queries": queries,
        "db_time": wall / 2,
        "status": 200,
    }
    fields.update(extra)
    return RequestSample(**fields)  # type: ignore[arg-type]


samples_strategy = st.lists(
    st.builds(
        sample,
        st.sampled_from(VIEWS),
        st.floats(0.0001, 2.0),
        st.integers(0, 60),
        status=st.sampled_from([200, 302, 404, 500, None]),
        nplusone=st.sampled_from([(), ("views.py:12 in book_authors",)]),
        group=st.sampled_from([None, "shop/list.html", "(no template)"]),
    ),
    max_size=120,
)


def aggregate(items: list[RequestSample], size: int = 1000) -> ReplayStats:
    stats = ReplayStats(reservoir_size=size)
    for item in items:
        stats.add(item)
    return stats


def test_per_view_figures_are_those_of_its_requests():
    walls = [0.010, 0.030, 0.020, 0.050, 0.040]
    stats = aggregate(
        [sample("book-list", w, queries=11) for w in walls]
        + [sample("echo", 0.001, queries=0, status=500, error=True)]
    )
    books = stats.views["book-list"]
    assert books.requests == 5 and books.queries_per_request == 11
    assert books.mean == pytest.approx(statistics.fmean(walls))
    assert books.p50 == pytest.approx(0.030)
    assert books.p95 == pytest.approx(percentile(sorted(walls), 0.95))
    assert (books.slowest_path, books.slowest_time) == ("/book-list/", 0.050)
    assert stats.views["echo"].errors == 1 and stats.errors == 1
    # Ranked by share of the total time: 0.150 s against 0.001 s.
    assert [view.view for view in stats.ranked()] == ["book-list", "echo"]
    assert stats.share(books) == pytest.approx(0.150 / 0.151)
    shares = [entry["share"] for entry in stats.to_dict()["views"].values()]
    assert sum(shares) == pytest.approx(1.0)


def test_statuses_and_nplusone_are_counted_per_request():
    flagged = ("views.py:35 in book_authors",)
    stats = aggregate(
        [
            sample("book-authors", 0.01, nplusone=flagged),
            sample("book-authors", 0.01, nplusone=flagged),
            sample("book-authors", 0.01, status=None, error=True),
        ]
    )
    view = stats.views["book-authors"]
    assert view.flagged_requests == 2 and view.nplusone == {flagged[0]: 2}
    assert view.statuses == {"200": 2, "raised": 1}


@settings(max_examples=60, deadline=None)
@given(samples_strategy, st.integers(1, 4))
def test_merging_shares_gives_the_single_pass_aggregate(items, workers):
    """What --workers relies on: every count and sum is the single process's."""
    single = aggregate(items)
    merged = aggregate(items[0::workers])
    for worker in range(1, workers):
        merged.merge(aggregate(items[worker::workers]))
    assert merged.replayed == single.replayed == len(items)
    assert set(merged.views) == set(single.views)
    for key, one in single.views.items():
        other = merged.views[key]
        assert (other.view_name, other.group) == (one.view_name, one.group)
        assert (other.requests, other.errors, other.total_queries, other.flagged_requests) == (
            one.requests,
            one.errors,
            one.total_queries,
            one.flagged_requests,
        )
        assert other.total_time == pytest.approx(one.total_time)
        assert other.statuses == one.statuses and other.nplusone == one.nplusone
        assert other.slowest_time == one.slowest_time
        # Under the reservoir size every sample is kept, so percentiles are exact too.
        assert sorted(other.times.values) == sorted(one.times.values)
        assert other.p95 == pytest.approx(one.p95)


def test_memory_is_bounded_by_the_reservoir():
    stats = aggregate([sample("echo", i / 1e6) for i in range(20_000)], size=200)
    view = stats.views["echo"]
    assert view.requests == 20_000 and len(view.times.values) == 200
    assert not view.exact
    # The estimate of the median of 0..20 ms is close to 10 ms.
    assert view.p50 == pytest.approx(0.010, abs=0.002)


def test_reservoir_is_a_uniform_sample():
    """Each tenth of a 2,000-value stream holds a tenth of the kept values, on average."""
    tenths = [0] * 10
    for seed in range(200):
        reservoir = Reservoir(50, random.Random(seed))
        for value in range(2_000):
            reservoir.add(value)
        for kept in reservoir.values:
            tenths[int(kept) // 200] += 1
    expected = 200 * 50 / 10
    assert all(abs(count - expected) < 0.1 * expected for count in tenths)


def test_merged_reservoir_weights_each_stream_by_its_size():
    from_small = 0
    for seed in range(200):
        small, large = Reservoir(100, random.Random(seed)), Reservoir(100, random.Random(-seed))
        for _ in range(200):
            small.add(0.0)
        for _ in range(1_800):
            large.add(1.0)
        small.merge(large)
        assert len(small.values) == 100 and small.seen == 2_000
        from_small += small.values.count(0.0)
    assert from_small / (200 * 100) == pytest.approx(0.1, abs=0.01)


@pytest.mark.parametrize(
    ("path", "prefix"),
    [
        ("/wp-admin/setup.php?step=1", "/wp-admin/"),
        ("/favicon.ico", "/favicon.ico"),
        ("/", "/"),
        ("/static/css/site.css", "/static/"),
        ("/.env", "/.env"),
    ],
)
def test_unresolved_paths_are_grouped_by_first_segment(path, prefix):
    assert path_prefix(path) == prefix


@pytest.mark.parametrize(
    ("path", "segments", "prefix"),
    [
        ("/blog/2024/post/?page=2", 2, "/blog/2024/"),
        ("/blog/2024/post/", 3, "/blog/2024/post/"),
        ("/blog/2024/post/", 9, "/blog/2024/post/"),
        ("/blog/feed.xml", 2, "/blog/feed.xml"),
        ("/", 2, "/"),
    ],
)
def test_a_path_prefix_keeps_the_first_segments(path, segments, prefix):
    assert path_prefix(path, segments) == prefix


def test_grouped_requests_are_a_row_each_named_after_their_view_and_group():
    stats = aggregate(
        [
            sample("page", 0.02, group="blog/page.html"),
            sample("page", 0.01, group="blog/page.html"),
            sample("page", 0.01, group="(no template)"),
            sample("echo", 0.01, group="(no template)"),
        ]
    )
    assert {key: view.requests for key, view in stats.views.items()} == {
        "page · blog/page.html": 2,
        "page · (no template)": 1,
        "echo · (no template)": 1,
    }
    assert stats.view_count == 2
    row = stats.to_dict()["views"]["page · blog/page.html"]
    assert (row["view"], row["view_name"], row["group"]) == (
        "page · blog/page.html",
        "page",
        "blog/page.html",
    )
    assert set(samples_entries(stats)) == set(stats.views)


def test_not_found_keeps_counts_and_a_few_examples():
    stats = ReplayStats()
    for index in range(10):
        stats.add_not_found(f"/wp-admin/page{index}.php")
    assert stats.not_found == {"/wp-admin/": 10}
    assert stats.not_found_examples["/wp-admin/"] == [
        "/wp-admin/page0.php",
        "/wp-admin/page1.php",
        "/wp-admin/page2.php",
    ]


def test_saved_entries_hold_samples_and_queries_per_view():
    stats = aggregate([sample("echo", 0.002, queries=3), sample("echo", 0.004, queries=5)])
    entries = samples_entries(stats)
    assert entries["echo"]["samples"] == [0.002, 0.004]
    assert entries["echo"]["queries_per_request"] == 4
