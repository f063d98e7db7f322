"""profile_traffic on synthetic traffic whose driver is known: one view's latency drives the
overall response time, while every series shares the day's trend. The analysis must name the
planted driver and leave out the series that move with the response time only through that
trend (they correlate strongly before differencing)."""

from __future__ import annotations

import gzip
import json
import math
import random
import re
from datetime import datetime, timezone
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from django_profilecmds import analyse_traffic
from django_profilecmds.traffic.analysis import LAYER, VIEW_TIME, VIEW_TRAFFIC

START = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc).timestamp()
WINDOWS = 240  # four hours of one-minute windows


def synthetic_lines(
    driver: str = "/books/",
    windows: int = WINDOWS,
    seed: int = 1,
    slow_layer: bool = False,
    busy_view: bool = False,
) -> list[str]:
    """JSON lines of a day that gets busier: every view's latency and traffic grow by 150% over
    the log (the shared trend). ``driver``'s latency also jumps now and then on its own, which
    is what moves the overall response time from one minute to the next. With ``slow_layer``
    the database layer's time is what jumps, in every view; with ``busy_view``, the traffic to
    an expensive view bursts instead."""
    rng = random.Random(seed)
    views = {"/books/": 0.040, "/books/cbv/": 0.030, "/private/": 0.020, "/echo/": 0.025}
    lines = []
    for window in range(windows):
        trend = 1 + 1.5 * window / windows
        spike = rng.expovariate(1 / 0.060) if rng.random() < 0.5 else 0.0
        db_jump = rng.expovariate(1 / 0.030) if slow_layer and rng.random() < 0.5 else 0.0
        burst = rng.randint(0, 12) if busy_view else 0
        for path, base in views.items():
            count = round((8 if path != "/busy/" else 0) * trend) + rng.randint(0, 2)
            for _ in range(count):
                db = base * 0.3 * trend * rng.uniform(0.9, 1.1) + db_jump
                duration = base * trend * rng.uniform(0.9, 1.1) + db_jump
                if path == driver and not slow_layer and not busy_view:
                    duration += spike
                lines.append(_line(window, rng, path, duration, db))
        for _ in range(burst):
            lines.append(_line(window, rng, "/busy/", 0.400 * rng.uniform(0.9, 1.1), 0.0))
        lines.append(_line(window, rng, "/static/app.css", 0.001, 0.0))
    return lines


def _line(window: int, rng: random.Random, path: str, duration: float, db: float) -> str:
    moment = START + 60 * window + rng.uniform(0, 59.9)
    return json.dumps(
        {
            "time": datetime.fromtimestamp(moment, timezone.utc).isoformat().replace("+00:00", "Z"),
            "method": "GET",
            "path": path,
            "status": 200,
            "duration_ms": round(duration * 1000, 3),
            "db_ms": round(db * 1000, 3),
        }
    )


def write_log(tmp_path: Path, lines: list[str], name: str = "app.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(*args: str) -> str:
    out = StringIO()
    call_command("profile_traffic", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def by_series(analysis):
    return {(result.kind, result.name): result for result in analysis.results}


def test_the_planted_slow_view_is_named_and_the_trend_only_series_are_not(db, tmp_path):
    log = write_log(tmp_path, synthetic_lines(driver="/books/"))
    analysis = analyse_traffic([log])
    series = by_series(analysis)
    driver = series[(VIEW_TIME, "book-list")]
    assert driver.significant and driver.r is not None and driver.r > 0.6
    assert analysis.drivers[0] == driver
    # The other views' times and traffic grow with the day, as the response time does: they
    # correlate strongly before differencing, and are not reported after.
    for name in ("book-list-cbv", "private", "echo"):
        for kind in (VIEW_TIME, VIEW_TRAFFIC):
            result = series[(kind, name)]
            assert result.tested and not result.significant, result
        assert series[(VIEW_TIME, name)].r_before is not None
        assert series[(VIEW_TIME, name)].r_before > 0.5
        assert series[(VIEW_TIME, name)].trend_only
    assert not series[(LAYER, "db")].significant
    assert len(analysis.tested) == 1 + 2 * 4  # the db layer, each view's time and traffic
    # What nginx served itself is counted apart, in no series.
    assert analysis.not_a_view == WINDOWS
    assert analysis.requests + analysis.not_a_view == analysis.lines


def test_a_slow_layer_and_a_busy_view_are_told_apart(db, tmp_path):
    layer = analyse_traffic([write_log(tmp_path, synthetic_lines(slow_layer=True), "a.jsonl")])
    assert layer.drivers and layer.drivers[0].kind == LAYER and layer.drivers[0].name == "db"
    busy = analyse_traffic([write_log(tmp_path, synthetic_lines(busy_view=True), "b.jsonl")])
    assert busy.drivers and (busy.drivers[0].kind, busy.drivers[0].name) == (VIEW_TRAFFIC, "busy")


def test_the_command_says_it_in_the_terms_of_the_method(db, tmp_path):
    log = write_log(tmp_path, synthetic_lines(driver="/books/"))
    out = run(str(log), "--no-files")
    lines = out.splitlines()
    verdict = next(line for line in lines if line.strip().startswith("1. "))
    assert re.search(
        r"response time moves with the response time of book-list \(r = [01]\.\d\d, p = ", verdict
    )
    assert "% of the time" in verdict
    assert lines[lines.index(verdict) + 1].strip() == "python manage.py profile_view /books/"
    assert "Tested 9 series against the overall response time" in out
    assert "Benjamini-Hochberg" in out
    assert "only through a shared trend" in out
    assert "240 windows of 1m" in out


def test_traffic_that_only_follows_the_trend_is_not_called_a_driver(db, tmp_path):
    """Every view as fast as the others, each one's traffic growing with the day plus noise of
    its own: more requests to one of them changes nothing in the mean response time, so no
    view's traffic is significant, though each correlates with it before differencing."""
    rng = random.Random(3)
    lines = []
    for window in range(WINDOWS):
        trend = 1 + 2 * window / WINDOWS
        for path in ("/books/", "/private/", "/echo/"):
            for _ in range(round(6 * trend) + rng.randint(0, 4)):
                duration = 0.03 * trend * rng.uniform(0.8, 1.2)
                lines.append(_line(window, rng, path, duration, 0.0))
    analysis = analyse_traffic([write_log(tmp_path, lines)])
    traffic = [result for result in analysis.results if result.kind == VIEW_TRAFFIC]
    assert len(traffic) == 3 and all(result.tested for result in traffic)
    assert not [result for result in traffic if result.significant]
    assert all(result.trend_only for result in traffic)


def test_a_view_with_too_few_windows_is_reported_not_tested(db, tmp_path):
    lines = synthetic_lines(windows=60)
    rng = random.Random(1)
    lines += [_line(window, rng, "/api/me/", 0.5, 0.0) for window in (3, 20)]
    analysis = analyse_traffic([write_log(tmp_path, lines)])
    me = by_series(analysis)[(VIEW_TIME, "api-me")]
    assert not me.tested and me.r is None and me.p_value is None
    out = run(str(write_log(tmp_path, lines, "b.jsonl")), "--no-files")
    assert "Too few windows to test (10 needed)" in out and "api-me time" in out


def test_windows_of_another_length(db, tmp_path):
    log = write_log(tmp_path, synthetic_lines(windows=120))
    analysis = analyse_traffic([log], window="5m")
    assert analysis.window == 300 and analysis.windows == 24
    assert "24 windows of 5m" in run(str(log), "--window", "5m", "--no-files")


def test_a_gzip_rotation_and_the_current_log_are_read_in_time_order(db, tmp_path):
    lines = synthetic_lines()
    half = len(lines) // 2
    rotated = tmp_path / "app.jsonl.1.gz"
    with gzip.open(rotated, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines[:half]) + "\n")
    current = write_log(tmp_path, lines[half:])
    both = analyse_traffic([current, rotated])
    whole = analyse_traffic([write_log(tmp_path, lines, "whole.jsonl")])
    assert both.requests == whole.requests and both.windows == whole.windows
    assert [r.r for r in both.results] == pytest.approx([r.r for r in whole.results])


def test_the_reports_hold_the_verdict_the_series_and_the_index_lists_them(db, tmp_path):
    log = write_log(tmp_path, synthetic_lines())
    out_dir = tmp_path / "profiles"
    out = run(str(log), "--output-dir", str(out_dir))
    reports = sorted(out_dir.glob("traffic-*.json"))
    assert len(reports) == 1
    data = json.loads(reports[0].read_text())
    assert data["kind"] == "traffic"
    first = data["traffic"]["results"][0]
    assert (first["kind"], first["name"], first["significant"]) == (VIEW_TIME, "book-list", True)
    assert all(math.isfinite(r["r"]) for r in data["traffic"]["results"] if r["tested"])
    page = reports[0].with_suffix(".html").read_text()
    assert page.count("<polyline") >= 4 and "<script src" not in page and "http" not in page
    index = (out_dir / "index.html").read_text()
    assert "Traffic analyses" in index and reports[0].with_suffix(".html").name in index
    assert str(reports[0].name) in out


def test_secrets_in_logged_paths_stay_out_of_every_output(db, tmp_path):
    secret = "s3cr3t-reset-token-value-4471"
    lines = synthetic_lines(windows=40)
    rng = random.Random(5)
    for window in range(40):
        # Slow, so it is the slowest request of its view (its path is printed), and unresolved.
        lines.append(_line(window, rng, f"/leaks/reset/MQ/{secret}/", 2.0, 0.0))
        lines.append(_line(window, rng, f"/nowhere/?api_key={secret}", 0.1, 0.0))
    log = write_log(tmp_path, lines)
    out_dir = tmp_path / "profiles"
    out = run(str(log), "--output-dir", str(out_dir), "--top", "20")
    assert "/leaks/reset/" in out or "reset" in out
    everything = [out] + [p.read_text() for p in out_dir.iterdir()]
    assert not [text for text in everything if secret in text]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.log"], "missing.log"),
        (["{log}", "--window", "soon"], "--window must be a duration"),
        (["{log}", "--window", "0s"], "--window must be at least one second"),
        (["{log}", "--alpha", "1.5"], "--alpha must be between 0 and 1"),
        (["{log}", "--format", "iis"], "format"),
        (["{log}", "--duration-unit", "min"], "--duration-unit"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(db, tmp_path, args, message):
    log = write_log(tmp_path, synthetic_lines(windows=20))
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = [arg.replace("{log}", str(log)) for arg in args]
    if argv[0] == "missing.log":
        argv[0] = str(tmp_path / "missing.log")
    with pytest.raises(CommandError) as raised:
        call_command(
            "profile_traffic",
            *argv,
            "--output-dir",
            str(tmp_path / "out"),
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
