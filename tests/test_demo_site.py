"""profile_view through the demo project's own manage.py, as whole processes: real exit
statuses, real stdout/stderr, and a real SQLite file database checked before and after."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "demo_site" / "manage.py")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A seeded demo database in a temporary file; returns a function that runs manage.py."""
    directory = tmp_path_factory.mktemp("demo")
    env = {"DEMO_DATABASE_PATH": str(directory / "demo.sqlite3"), "PATH": "/usr/bin:/bin"}

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*MANAGE, *args], env=env, cwd=directory, capture_output=True, text=True, timeout=120
        )

    for command in (["migrate", "-v0"], ["seed_demo", "--listings", "30", "--users", "20"]):
        assert manage(*command).returncode == 0
    manage.database = directory / "demo.sqlite3"  # type: ignore[attr-defined]
    manage.directory = directory  # type: ignore[attr-defined]
    return manage


def count_rows(database: Path, table: str) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def written_json(stdout: str, directory: Path) -> dict:  # type: ignore[type-arg]
    name = next(
        line.strip()
        for line in stdout.splitlines()
        if line.strip().endswith(".json") and "speedscope" not in line
    )
    return json.loads((directory / name).read_text())


def test_slow_page_as_user_one(demo):
    done = demo("profile_view", "/listings/", "--user=1")
    assert done.returncode == 0, done.stderr
    assert "as alice (pk=1) · session · full stack" in done.stdout
    # 3 queries per active listing, plus the list, the session and the user.
    result = written_json(done.stdout, demo.directory)
    active = count_rows(demo.database, "shop_listing WHERE is_active")
    assert result["query_count"] == 3 * active + 3
    assert "Listing.latest_price" in done.stdout
    assert "Reports:" in done.stdout


def test_fixed_page_runs_a_constant_number_of_queries(demo):
    done = demo("profile_view", "/listings/fast/", "--no-files", "--profiler", "none")
    assert done.returncode == 0, done.stderr
    assert " 3 queries " in done.stdout


def test_demo_middleware_runs_in_full_mode_only(demo):
    full = demo("profile_view", "/listings/fast/", "--no-files")
    direct = demo("profile_view", "/listings/fast/", "--no-files", "--direct")
    assert full.returncode == direct.returncode == 0
    assert "RequestAuditMiddleware._fingerprint" in full.stdout
    assert "RequestAuditMiddleware" not in direct.stdout


def test_post_that_creates_rows_and_sends_mail_leaves_the_database_as_it_was(demo):
    before = {t: count_rows(demo.database, t) for t in ("shop_listing", "shop_pricehistory")}
    sessions = count_rows(demo.database, "django_session")
    done = demo(
        "profile_view",
        "/listings/create/",
        "--user=alice@example.com",
        "--method",
        "POST",
        "--data",
        "title=Lamp",
        "--data",
        "price=12.50",
        "--data",
        "tag=home",
    )
    assert done.returncode == 0, done.stderr
    assert "201 Created" in done.stdout
    assert "1 email captured, not sent" in done.stdout  # the demo's backend is real SMTP
    after = {t: count_rows(demo.database, t) for t in ("shop_listing", "shop_pricehistory")}
    assert after == before
    assert count_rows(demo.database, "django_session") == sessions


def test_commit_keeps_the_rows(demo):
    before = count_rows(demo.database, "shop_listing")
    done = demo(
        "profile_view",
        "/listings/create/",
        "--user=alice",
        "--method",
        "POST",
        "--json",
        '{"title": "Kept lamp", "price": "3.00"}',
        "--commit",
        "--no-files",
    )
    assert done.returncode == 0, done.stderr
    assert "KEPT" in done.stdout
    assert count_rows(demo.database, "shop_listing") == before + 1


def test_async_view(demo):
    done = demo("profile_view", "/async-feed/", "--user=1", "--no-files")
    assert done.returncode == 0, done.stderr
    assert "async_feed" in done.stdout and "_score_feed" in done.stdout


def test_streaming_export(demo):
    done = demo("profile_view", "/export.csv", "--no-files")
    assert done.returncode == 0, done.stderr
    assert "text/csv" in done.stdout and "streamed" in done.stdout


def test_raising_view_exits_1_with_its_traceback_and_still_writes_reports(demo):
    done = demo("profile_view", "/boom/")
    assert done.returncode == 1
    assert "RuntimeError: Deliberate failure for the profiler demo" in done.stderr
    assert "CommandError: The view raised an exception" in done.stderr
    assert "500 Internal Server Error" in done.stdout
    assert written_json(done.stdout, demo.directory)["failed"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/listing/"], "closest URL patterns are:\n  /listings/"),
        (["/listings/", "--user=mallory"], "No user matches --user 'mallory'"),
        (["/listings/", "--profiler", "yappi"], "Unknown profiler 'yappi'"),
        (["/listings/", "--json", "@missing.json"], "Cannot read the --json file"),
        (["/listings/", "--host", "example.org"], "--host"),
    ],
)
def test_bad_input_exits_1_without_a_traceback(demo, args, message):
    done = demo("profile_view", *args, "--no-files")
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_repeat_with_warmup(demo):
    done = demo("profile_view", "/api/listings/stats/", "--repeat", "3", "--warmup", "1")
    assert done.returncode == 0, done.stderr
    assert "wall time over 3 runs" in done.stdout
    assert "get_stats_from_queryset" in done.stdout


def test_nplusone_report_on_the_demo_page(demo):
    done = demo("profile_view", "/listings/", "--no-files", "--profiler", "none")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    rows = count_rows(demo.database, "shop_listing WHERE is_active")
    assert out.count(f"N+1: {rows} similar queries from one line") == 3  # one per relation
    assert "template shop/listing_list.html" in out and "inside the {% for %} at line" in out
    assert "demo_site/shop/views.py:" in out and "in listing_list" in out
    assert 'fix: Add select_related("owner") to the Listing queryset' in out
    assert 'fix: Add prefetch_related("tags")' in out
    # Listing.latest_price() orders and slices (.first()) per row: a Prefetch keeps its order.
    assert (
        'Prefetch("prices", queryset=PriceHistory.objects.order_by("-recorded_at")[:1], '
        'to_attr="prices_list")) to the Listing queryset' in out
    )
    fixed = demo("profile_view", "/listings/fast/", "--no-files", "--profiler", "none")
    assert "N+1" not in fixed.stdout


def test_budget_exceeded_exits_3(demo):
    done = demo("profile_view", "/listings/", "--no-files", "--max-queries", "50")
    assert done.returncode == 3
    queries = 3 * count_rows(demo.database, "shop_listing WHERE is_active") + 1
    assert f"--max-queries 50: {queries} queries per run ({queries - 50} over)." in done.stderr
    assert "Traceback" not in done.stderr


def test_lineprof_on_the_demo(demo):
    done = demo("lineprof", "shop.models.Listing.latest_price", "--url", "/listings/", "--no-files")
    assert done.returncode == 0, done.stderr
    rows = count_rows(demo.database, "shop_listing WHERE is_active")
    line = next(line for line in done.stdout.splitlines() if "order_by(" in line)
    assert line.split()[1] == str(rows) and f"{rows}q" in line
    done = demo(
        "lineprof",
        "shop.stats.get_stats_from_queryset",
        "--call",
        "--input",
        "shop.stats.demo_input",
        "--no-files",
    )
    assert done.returncode == 0, done.stderr
    assert "Returned dict" in done.stdout and "% Time" in done.stdout
    done = demo("lineprof", "shop.views.listing_list", "--no-files")
    assert "Using --url /listings/" in done.stdout
    done = demo("lineprof", "shop.views.listing_lst", "--no-files")
    assert done.returncode == 1 and "Did you mean" in done.stderr
    assert "Traceback" not in done.stderr
