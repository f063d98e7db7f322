"""The HTML reports in a real headless Chromium (Debian's, driven by Playwright; never a
downloaded browser): they load from file:// with no console errors and no network requests,
every section shows, the call tree responds to a click and index.html sorts."""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import pytest

from django_profilecmds import profile_request
from django_profilecmds.reports.files import prepare_output_dir, write_reports
from django_profilecmds.runner import run
from django_profilecmds.spec import RequestSpec, RunSpec

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must run the browser tests: install Debian's chromium package.")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed (apt-get install chromium)"),
    pytest.mark.django_db(databases="__all__"),
]


@contextmanager
def chromium():
    """A headless Chromium. Playwright's sync API runs an event loop in this thread, where
    Django refuses database calls: open it only after the reports are written."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, path: Path):
    """Open ``path`` and record console errors, page errors and non-file requests."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"console {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda error: problems.append(f"page error {error}"))
    page.on(
        "request",
        lambda r: (
            None if r.url.startswith(("file:", "data:", "about:")) else problems.append(r.url)
        ),
    )
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, problems


def test_report_sections_call_tree_and_no_network(books, member, tmp_path):
    result = profile_request(
        "/books/", user=member.email, repeat=3, explain=True, output_dir=tmp_path
    )
    with chromium() as browser:
        check_report(browser, result)


def check_report(browser, result):
    page, problems = open_page(browser, result.files["html"])
    for section in ("#request", "#timings", "#calltree", "#sql", "#response"):
        assert page.locator(section).is_visible(), section
    assert page.locator("#timing-chart rect").count() == 3
    assert "N+1:" in page.locator("#sql").inner_text()
    assert 'select_related("author")' in page.locator("#sql").inner_text()
    assert "EXPLAIN" in page.locator("#sql").inner_text()

    tree = page.frame_locator("iframe.calltree")
    group = tree.locator("text=/frames hidden/").first
    group.wait_for()
    before = tree.locator("body").inner_text()
    group.click()  # expands the hidden library frames
    page.wait_for_timeout(300)
    assert tree.locator("body").inner_text() != before
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    assert problems == []


def test_line_report_has_heat_and_sql_column(books, tmp_path):
    spec = RunSpec(
        request=RequestSpec("/books/authors/"),
        profiler="none",
        lines=("tests.testapp.views.book_authors",),
    )
    result = run(spec)
    write_reports(result, prepare_output_dir(tmp_path))
    with chromium() as browser:
        check_lines(browser, result)


def check_lines(browser, result):
    page, problems = open_page(browser, result.files["html"])
    assert page.locator("#lines").is_visible()
    loop_row = page.locator("table.lines tr", has_text="names.append(book.author.name)")
    assert "12q" in loop_row.inner_text()
    assert "rgba(220, 38, 38" in (loop_row.get_attribute("style") or "")
    page.screenshot(path=str(ARTIFACTS / "lines.png"), full_page=True)
    assert problems == []


def test_index_lists_runs_newest_first_and_sorts(books, tmp_path):
    profile_request("/books/", output_dir=tmp_path)
    last = profile_request("/echo/", output_dir=tmp_path)
    with chromium() as browser:
        check_index(browser, last)


def check_index(browser, last):
    page, problems = open_page(browser, last.files["index"])
    rows = page.locator("#runs tbody tr")
    assert rows.count() == 2
    assert "GET /echo/" in rows.nth(0).inner_text()  # newest first (same second: stable)
    page.locator("#runs th", has_text="queries").click()
    first = rows.nth(0).locator("td").nth(6).inner_text()
    page.locator("#runs th", has_text="queries").click()
    assert rows.nth(0).locator("td").nth(6).inner_text() != first
    page.locator("#runs a", has_text="report").first.click()
    page.wait_for_load_state("load")
    assert page.locator("#timings").is_visible()
    assert problems == []


def test_replay_report_ranks_sorts_and_shows_the_comparison(books, tmp_path):
    from django.core.management import call_command

    log = tmp_path / "access.log"
    line = '203.0.113.7 - - [20/Nov/2026:08:00:00 +0000] "GET {} HTTP/1.1" 200 512 "-" "curl/8"'
    log.write_text("\n".join(line.format(p) for p in ["/books/"] * 6 + ["/echo/"] * 9) + "\n")
    quiet = {"stdout": StringIO(), "output_dir": tmp_path / "profiles"}
    call_command("profile_replay", str(log), save=str(tmp_path / "before.json"), **quiet)
    call_command("profile_replay", str(log), compare=str(tmp_path / "before.json"), **quiet)
    with chromium() as browser:
        check_replay(browser, tmp_path / "profiles")


def check_replay(browser, directory: Path):
    latest = max(directory.glob("replay-*.html"), key=lambda path: path.stat().st_mtime_ns)
    page, problems = open_page(browser, latest)
    rows = page.locator("#replay-views tbody tr")
    assert rows.count() == 2
    assert "book-list" in rows.nth(0).inner_text()  # the larger share of the time first
    assert "profile_view /books/" in rows.nth(0).inner_text()
    # Each view's CPU and database time beside its wall time, as in the terminal.
    headers = page.locator("#replay-views th").all_inner_texts()
    assert "CPU p50 ms" in headers and "DB p50 ms" in headers
    saved = json.loads(latest.with_suffix(".json").read_text())["replay"]["views"]
    book_list = next(view for view in saved.values() if view["view"] == "book-list")
    for header, key in (("CPU p50 ms", "cpu_p50"), ("DB p50 ms", "db_p50")):
        shown = rows.nth(0).locator("td").nth(headers.index(header)).inner_text()
        assert float(shown) == pytest.approx(book_list[key] * 1000, abs=0.051), header
    page.locator("#replay-views th", has_text="requests").click()
    assert "book-list" in rows.nth(0).inner_text()  # 6 requests before 9 (ascending)
    page.locator("#replay-views th", has_text="requests").click()
    assert "echo" in rows.nth(0).inner_text()
    assert page.locator("#comparison").is_visible()
    assert page.locator("#comparison-table tbody tr").count() == 2
    # The comparison says which time the verdict is on, and why, and shows all three.
    from django.db import connection

    on = ("CPU", "every database is SQLite") if connection.vendor == "sqlite" else ("wall", "")
    metric = page.locator("#comparison-metric").inner_text()
    assert metric.startswith(f"Verdict on {on[0]} time ({on[1]}"), metric
    compared = page.locator("#comparison-table th").all_inner_texts()
    assert compared[1] == f"{on[0]} median before" and {"wall", "CPU", "DB"} <= set(compared)
    page.screenshot(path=str(ARTIFACTS / "replay.png"), full_page=True)
    index, more = open_page(browser, directory / "index.html")
    assert index.locator("#replays tbody tr").count() == 2
    assert problems == [] and more == []


def test_report_shows_cache_counts_and_discarded_files(member, tmp_path, settings):
    media, cache = tmp_path / "media", tmp_path / "cache"
    media.mkdir()
    (media / "doomed.txt").write_text("x")
    (media / "existing.txt").write_text("x")
    fs = "django.core.files.storage.FileSystemStorage"
    settings.STORAGES = {
        alias: {"BACKEND": fs, "OPTIONS": {"location": str(media)}}
        for alias in ("default", "exports")
    } | {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(cache),
        },
    }
    # warmup=0: the cold counts (with a warm-up the counted run finds the value it set).
    cached = profile_request("/cache/", isolate_cache=True, warmup=0, output_dir=tmp_path / "out")
    files = profile_request("/files/", output_dir=tmp_path / "out")
    with chromium() as browser:
        page, problems = open_page(browser, cached.files["html"])
        rows = page.locator("#cache-aliases tbody tr")
        assert rows.count() == 1
        assert rows.first.inner_text().split("\t")[:7] == [
            "shared", "LocMemCache", "3", "1", "2", "2", "1",
        ]  # fmt: skip
        assert "Private in-memory caches, discarded" in page.locator("#cache").inner_text()
        assert problems == []
        page, problems = open_page(browser, files.files["html"])
        text = page.locator("#files").inner_text()
        assert text.startswith("discarded:")
        assert "uploads/new.txt written" in text and "doomed.txt deleted" in text
        assert problems == []


def test_traffic_report_draws_the_series_and_sorts(db, tmp_path):
    """The traffic analysis's page: the verdict names the planted driver, every series is drawn
    as inline SVG (per window and after differencing), the table sorts, nothing is fetched,
    and the index lists the analysis."""
    from django.core.management import call_command

    from tests.test_profile_traffic import synthetic_lines, write_log

    log = write_log(tmp_path, synthetic_lines(driver="/books/"))
    out_dir = tmp_path / "profiles"
    call_command("profile_traffic", str(log), "--output-dir", str(out_dir), stdout=StringIO())
    report = next(out_dir.glob("traffic-*.html"))
    with chromium() as browser:
        page, problems = open_page(browser, report)
        assert "the response time of book-list" in page.locator("#drivers").inner_text()
        figures = page.locator("#charts figure")
        assert figures.count() == 5  # the overall response time and the four strongest series
        for index in range(figures.count()):
            figure = figures.nth(index)
            for kind in ("svg.levels", "svg.differences"):
                chart = figure.locator(kind)
                assert chart.is_visible()
                box = chart.bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 50
                assert figure.locator(f"{kind} polyline").count() >= 1
        rows = page.locator("#traffic-series tbody tr")
        r_column = page.locator("#traffic-series th").nth(2)
        r_column.click()  # ascending: the weakest correlation first
        assert "book-list" not in rows.first.locator("td").nth(1).inner_text()
        r_column.click()  # descending: the driver first again
        assert rows.first.locator("td").nth(1).inner_text() == "book-list"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "traffic.png"), full_page=True)
        assert problems == []
        index, index_problems = open_page(browser, out_dir / "index.html")
        assert index.locator("#traffic-analyses tbody tr").count() == 1
        assert "book-list" in index.locator("#traffic-analyses").inner_text()
        assert index_problems == []
