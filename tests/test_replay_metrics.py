"""What a replay measures beside wall time: the CPU time of the thread that ran each request and
the time of its queries; kept in baselines, compared, and read from older baselines too."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_profilecmds.analysis.conditions import condition_warnings
from django_profilecmds.analysis.metrics import choose_metric, remote_databases
from django_profilecmds.analysis.replay import ReplayStats
from django_profilecmds.analysis.viewstats import RequestSample

pytestmark = pytest.mark.django_db(databases="__all__")

LINE = '203.0.113.{n} - - [20/Nov/2026:10:00:{s:02d} +0000] "GET {path} HTTP/1.1" 200 512 "-" "-"'


def write_log(path: Path, paths: list[str]) -> Path:
    lines = [LINE.format(n=i % 250, s=i % 60, path=p) for i, p in enumerate(paths)]
    path.write_text("\n".join(lines) + "\n")
    return path


def replay(*args, **options):
    out = StringIO()
    call_command(
        "profile_replay", *[str(a) for a in args], stdout=out, stderr=StringIO(), **options
    )
    return out.getvalue()


def test_each_view_has_cpu_and_database_medians_in_the_text_the_report_and_the_baseline(
    books, tmp_path
):
    paths = ["/timed/steady/", "/busy/", "/busy/async/", "/books/"]
    log = write_log(tmp_path / "a.log", paths * 8)
    out = replay(log, save=tmp_path / "base.json", output_dir=tmp_path / "p")
    header = next(line for line in out.splitlines() if line.lstrip().startswith("share"))
    assert "CPU p50" in header and "DB p50" in header
    assert " s in views (CPU " in out and " s, database " in out

    saved = json.loads((tmp_path / "base.json").read_text())
    for entry in saved["entries"].values():
        assert len(entry["cpu_samples"]) == len(entry["samples"]) == 8
        assert len(entry["db_samples"]) == 8
    report = json.loads(next((tmp_path / "p").glob("replay-*.json")).read_text())
    views = report["replay"]["views"]
    # Sleeping is not CPU time; a Python loop is, also when an async view runs it as sync code
    # (on the thread that called async_to_sync, not the event loop's).
    assert views["steady"]["cpu_p50"] < views["steady"]["p50"]
    assert views["busy"]["cpu_p50"] > views["steady"]["cpu_p50"]
    assert views["async-busy"]["cpu_p50"] > views["steady"]["cpu_p50"]
    # The database time is the queries' own: a view that runs none has none.
    assert views["book-list"]["db_p50"] > 0 and views["busy"]["db_p50"] == 0
    assert report["replay"]["total_cpu_time"] > 0


def test_workers_shares_merge_their_cpu_and_database_times():
    def sample(wall: float, cpu: float, db: float) -> RequestSample:
        return RequestSample("v", "app.views.v", "GET", "/v/", wall, 1, db, 200, cpu=cpu)

    one, other, whole = ReplayStats(), ReplayStats(), ReplayStats()
    first = [sample(0.010, 0.004, 0.001), sample(0.020, 0.006, 0.002)]
    second = [sample(0.030, 0.008, 0.003)]
    for item in first:
        one.add(item)
        whole.add(item)
    for item in second:
        other.add(item)
        whole.add(item)
    one.merge(other)
    merged, single = one.views["v"], whole.views["v"]
    assert merged.total_cpu_time == pytest.approx(single.total_cpu_time) == pytest.approx(0.018)
    assert sorted(merged.cpu_times.values) == sorted(single.cpu_times.values)
    assert merged.cpu_p50 == single.cpu_p50 == 0.006 and merged.db_p50 == 0.002


def test_a_baseline_saved_without_cpu_times_still_compares_and_says_so_once(tmp_path):
    log = write_log(tmp_path / "a.log", ["/timed/steady/", "/busy/"] * 10)
    replay(log, save=tmp_path / "base.json", no_files=True)
    document = json.loads((tmp_path / "base.json").read_text())
    for entry in document["entries"].values():
        del entry["cpu_samples"], entry["db_samples"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(document))

    out = replay(log, compare=old, no_files=True)
    comparison = out.split("Compared with the baseline")[1]
    assert comparison.count("The baseline has no CPU time and database time") == 1
    rows = {line.split()[-1]: line for line in comparison.splitlines() if " ms " in line}
    assert set(rows) == {"steady", "busy"}
    # wall, CPU and DB changes: the wall time's is known, the other two are not.
    cells = rows["busy"].split()
    assert cells[-7:-5] == ["-", "-"] and cells[-8].endswith("%")


def test_the_comparison_says_which_time_its_verdict_is_on_and_why(tmp_path):
    from django.db import connection

    log = write_log(tmp_path / "a.log", ["/timed/steady/", "/busy/"] * 10)
    replay(log, save=tmp_path / "base.json", no_files=True)
    out = replay(log, compare=tmp_path / "base.json", no_files=True)
    if connection.vendor == "sqlite":
        assert "Mann-Whitney U on CPU time" in out
        assert (
            "Verdict on CPU time (every database is SQLite, whose queries run in this thread; "
            "--metric wall to use wall time)." in out
        )
    else:
        assert "(Mann-Whitney U, alpha" in out
        assert "Verdict on wall time (database 'default' runs in a server process" in out
    other = "wall" if connection.vendor == "sqlite" else "cpu"
    out = replay(log, compare=tmp_path / "base.json", no_files=True, metric=other)
    assert f"Verdict on {'CPU' if other == 'cpu' else other} time (as --metric asked)." in out


def test_an_old_baseline_has_its_verdict_on_wall_time_and_cpu_is_refused(tmp_path):
    log = write_log(tmp_path / "a.log", ["/busy/"] * 6)
    replay(log, save=tmp_path / "base.json", no_files=True)
    document = json.loads((tmp_path / "base.json").read_text())
    for entry in document["entries"].values():
        del entry["cpu_samples"], entry["db_samples"]
    (tmp_path / "base.json").write_text(json.dumps(document))
    out = replay(log, compare=tmp_path / "base.json", no_files=True)
    assert "Verdict on wall time (the baseline holds wall times only)." in out
    with pytest.raises(CommandError, match=r"^--metric cpu: the baseline holds wall times only"):
        replay(log, compare=tmp_path / "base.json", no_files=True, metric="cpu")


def test_metric_without_a_comparison_is_a_one_line_error(tmp_path):
    log = write_log(tmp_path / "a.log", ["/busy/"])
    with pytest.raises(CommandError, match="--metric chooses .*: pass --compare FILE or --against"):
        replay(log, no_files=True, metric="cpu")


def test_the_default_verdict_counts_the_time_of_the_queries(tmp_path):
    """SQLite runs a query in the thread that asked: the thread's CPU time holds the query's
    work, and the verdict is on CPU time. A database server runs it in a process of its own,
    on this machine or not: the thread only waits, its CPU time leaves the query out (a
    slower query would be no change to it), and the verdict is on wall time."""
    from django.db import connection

    log = write_log(tmp_path / "a.log", ["/heavy-query/"] * 4)
    replay(log, output_dir=tmp_path / "p")
    report = json.loads(next((tmp_path / "p").glob("replay-*.json")).read_text())
    view = report["replay"]["views"]["heavy-query"]
    assert view["db_p50"] > 0.5 * view["p50"]  # the query is most of the request
    if connection.vendor == "sqlite":
        assert view["cpu_p50"] > 0.5 * view["db_p50"]
        assert choose_metric(None).metric == "cpu"
    else:
        assert view["cpu_p50"] < 0.2 * view["db_p50"]
        assert choose_metric(None).describe() == (
            "verdict on wall time (database 'default' runs in a server process of its own, "
            "whose work the thread's CPU time leaves out; --metric cpu to use it anyway)"
        )


@pytest.mark.parametrize(
    ("databases", "remote"),
    [
        ({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "x"}}, []),
        ({"default": {"ENGINE": "django.db.backends.postgresql", "HOST": ""}}, []),
        ({"default": {"ENGINE": "django.db.backends.postgresql", "HOST": "::1"}}, []),
        ({"default": {"ENGINE": "django.db.backends.mysql", "HOST": "/run/mysqld.sock"}}, []),
        (
            {
                "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "x"},
                "replica": {"ENGINE": "django.db.backends.postgresql", "HOST": "db.internal"},
            },
            ["replica"],
        ),
        (
            {"default": {"ENGINE": "x.postgresql", "OPTIONS": {"host": "10.0.0.5"}}},
            ["default"],
        ),
    ],
)
def test_a_database_on_another_machine_makes_wall_time_the_default(databases, remote):
    assert remote_databases(databases) == remote


def test_a_remote_database_is_named_in_the_metric_line():
    databases = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "x"},
        "replica": {"ENGINE": "django.db.backends.postgresql", "HOST": "db.internal"},
    }
    choice = choose_metric(None, databases=databases)
    assert choice.describe() == (
        "verdict on wall time (database 'replica' is remote; --metric cpu to use the "
        "thread's CPU time)"
    )


def test_a_baseline_records_the_machine_and_a_comparison_warns_of_what_differs(tmp_path):
    import os

    import django

    log = write_log(tmp_path / "a.log", ["/busy/"] * 6)
    replay(log, save=tmp_path / "base.json", no_files=True)
    document = json.loads((tmp_path / "base.json").read_text())
    conditions = document["conditions"]
    assert conditions["cpu_count"] == os.cpu_count()
    assert conditions["django"] == django.get_version()
    assert len(conditions["load_start"]) == len(conditions["load_end"]) == 3
    assert conditions["usable_cpus"] == len(os.sched_getaffinity(0))

    out = replay(log, compare=tmp_path / "base.json", no_files=True)
    assert "Warning: The baseline was saved with" not in out

    cpus = conditions["usable_cpus"]
    conditions.update(
        cpu_count=conditions["cpu_count"] + 62,
        django="4.2.1",
        load_start=[cpus * 3.0, 0, 0],
        load_end=[cpus * 3.0, 0, 0],
    )
    (tmp_path / "base.json").write_text(json.dumps(document))
    out = replay(log, compare=tmp_path / "base.json", no_files=True)
    warnings = [line for line in out.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 3
    assert "less busy than when the baseline was saved" in warnings[0]
    cpu_count = conditions["cpu_count"] - 62
    assert f"saved with {cpu_count + 62} CPUs, this replay had {cpu_count}" in out
    assert f"saved with Django 4.2.1, this replay ran {django.get_version()}." in out
    assert "busy" in out.split("Compared with the baseline")[1]  # the verdicts are still given


def test_only_a_load_per_cpu_apart_by_more_than_half_is_a_difference():
    def machine(load: float) -> dict[str, object]:
        return {"load_start": [load, 0, 0], "load_end": [load, 0, 0], "usable_cpus": 2}

    assert condition_warnings(machine(0.2), machine(1.0)) == []  # 0.1 -> 0.5 per CPU
    (warning,) = condition_warnings(machine(0.2), machine(1.4))  # 0.1 -> 0.7 per CPU
    assert warning.startswith("The machine was busier than when the baseline was saved")
    assert condition_warnings(None, machine(4.0)) == []  # an older baseline records none
