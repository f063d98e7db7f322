"""The terminal text of a replay: every list it cuts short says how many it left out."""

from __future__ import annotations

from django_profilecmds.analysis.replay import ReplayStats
from django_profilecmds.analysis.viewstats import ranked_nplusone
from django_profilecmds.reports.replaytext import render_replay
from tests.test_replay_analysis import aggregate, sample


def lines_after(text: str, heading: str) -> list[str]:
    return text.split(heading, 1)[1].split("\n\n", 1)[0].splitlines()[1:]


def test_equal_counts_put_the_projects_own_code_first_in_the_order_of_its_lines():
    origins = {
        "django/forms/boundfield.py:40 in value (library)": 4,
        "shop/views.py:12 in listing, template shop/list.html:10": 4,
        "shop/views.py:12 in listing, template shop/list.html:3": 4,
        "shop/views.py:30 in detail": 9,
    }
    assert [origin for origin, _count in ranked_nplusone(origins)] == [
        "shop/views.py:30 in detail",
        "shop/views.py:12 in listing, template shop/list.html:3",
        "shop/views.py:12 in listing, template shop/list.html:10",
        "django/forms/boundfield.py:40 in value (library)",
    ]


def test_a_rows_nplusone_locations_past_three_are_counted():
    stats = aggregate(
        [sample("echo", 0.01, nplusone=tuple(f"app/v.py:{n} in f" for n in range(7)))]
    )
    listed = lines_after(render_replay(stats), "N+1 queries")
    assert listed == [
        "  echo",
        "    app/v.py:0 in f (1 request)",
        "    app/v.py:1 in f (1 request)",
        "    app/v.py:2 in f (1 request)",
        "    … and 4 more (all in the JSON report)",
    ]


def test_rows_with_nplusone_beyond_top_are_counted():
    stats = aggregate(
        [sample("book-list", 0.5)]
        + [sample("echo", 0.01, nplusone=("app/v.py:1 in f",))]
        + [sample("book-authors", 0.02, nplusone=("app/v.py:2 in g",))]
    )
    assert lines_after(render_replay(stats, top=1), "N+1 queries") == [
        "  … and 2 more views with N+1 queries beyond --top (all in the JSON report)"
    ]
    listed = lines_after(render_replay(stats, top=2), "N+1 queries")
    assert listed == [
        "  book-authors",
        "    app/v.py:2 in g (1 request)",
        "  … and 1 more view with N+1 queries beyond --top (all in the JSON report)",
    ]


def test_unmatched_prefixes_unknown_users_and_bad_lines_past_the_first_are_counted():
    stats = ReplayStats()
    for index in range(13):
        for _ in range(20 - index):  # the first ten prefixes are the most frequent
            stats.add_not_found(f"/scan{index}/x.php")
    stats.unknown_users = {f"user{n}@example.com": 1 for n in range(8)}
    stats.problem_count = 9
    stats.problems = [{"line": n, "text": "junk", "reason": "not a log line"} for n in range(5)]
    stats.refused_count = 25
    stats.refused = [f"/x/: refused {n}" for n in range(20)]
    text = render_replay(stats)
    prefixes = lines_after(text, "by path prefix:")
    assert len(prefixes) == 11
    assert prefixes[-1] == "  … and 3 more prefixes (27 requests; all in the JSON report)"
    assert "'user4@example.com' (1), … and 3 more (all in the JSON report)." in text
    assert lines_after(text, "Lines that are not requests: 9.")[-1] == "  … and 4 more"
    assert lines_after(text, "Refused, so that")[-1] == "  … and 5 more"


def test_a_view_named_like_a_credential_keeps_its_nplusone_locations_in_the_text():
    """ "api-list: shop/views.py:9" read as a name and its value, and the location was masked."""
    from django_profilecmds.reports.redact import Redactor

    stats = aggregate([sample("api-list", 0.01, nplusone=("shop/views.py:9 in listing",))])
    text = Redactor().text(render_replay(stats))
    assert lines_after(text, "N+1 queries") == [
        "  api-list",
        "    shop/views.py:9 in listing (1 request)",
    ]
