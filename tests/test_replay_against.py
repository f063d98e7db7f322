"""profile_replay --against REV: an A/B replay of two git revisions of a project, run as a user
runs it (manage.py in a project of its own, in a git repository of its own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.interrupts import ctrl_c_handled

ROOT = Path(__file__).resolve().parent.parent  # this package's tree, first on the path
LINE = '203.0.113.{n} - - [20/Nov/2026:10:00:{s:02d} +0000] "GET {path} HTTP/1.1" 200 5 "-" "-"'
WORK = 40_000  # iterations of each view's own loop: a few milliseconds of CPU

SETTINGS = """
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "proj.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django_profilecmds"]
MIDDLEWARE = []
# A file inside the tree: the other revision's checkout must use this same database.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
USE_TZ = True
"""
URLS = """
from django.urls import path

from proj import views

urlpatterns = [path("steady/", views.steady, name="steady"), path("tunable/", views.tunable,
    name="tunable")]
"""
VIEWS = """
from django.db import connection
from django.http import HttpResponse


def crunch(n):
    total = 0
    for i in range(n):
        total = (total * 31 + i) % 1_000_003
    return total


def steady(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse(str(crunch({work})))


def tunable(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse(str(crunch({tunable})))
"""
MANAGE = """
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def write_views(repo: Path, tunable: int) -> None:
    code = VIEWS.replace("{work}", str(WORK)).replace("{tunable}", str(tunable))
    (repo / "proj" / "views.py").write_text(textwrap.dedent(code))


@pytest.fixture
def project(tmp_path):
    """A project in a git repository of two commits: the second makes /tunable/ do 30% more
    work; /steady/ is the same in both."""
    repo = tmp_path / "site"
    (repo / "proj").mkdir(parents=True)
    (repo / "manage.py").write_text(MANAGE)
    (repo / "proj" / "__init__.py").write_text("")
    (repo / "proj" / "settings.py").write_text(SETTINGS)
    (repo / "proj" / "urls.py").write_text(URLS)
    (repo / ".gitignore").write_text("db.sqlite3\n__pycache__/\n")
    write_views(repo, WORK)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Two views")
    write_views(repo, WORK + WORK * 3 // 10)
    git(repo, "commit", "-q", "-am", "The tunable view does more")
    log = tmp_path / "access.log"
    lines = [
        LINE.format(n=i % 250, s=i % 60, path=path)
        for i, path in enumerate(["/steady/", "/tunable/"] * 150)
    ]
    log.write_text("\n".join(lines) + "\n")
    return repo, log


def run(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "HOME": str(repo.parent),
    }
    return subprocess.run(
        [sys.executable, "manage.py", "profile_replay", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def verdicts(out: str) -> dict[str, str]:
    """The verdict rows of an A/B replay's table, by view."""
    rows = out.split("q-value  view\n")[1].split("\n\n")[0].splitlines()
    return {row.split()[-1]: row.strip() for row in rows if not row.lstrip().startswith("change,")}


@pytest.mark.slow
def test_the_view_a_commit_slowed_is_slower_and_the_other_unchanged(project):
    repo, log = project
    status = git(repo, "status", "--porcelain")
    reports = repo.parent / "reports"
    completed = run(repo, str(log), "--against", "HEAD~1", "--output-dir", str(reports))
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert (
        "A/B replay of 300 pairs of requests in 16 rounds (each of up to 20 pairs of one view, "
        "sent to a new process on each side after up to 5 warm-up requests to both, not "
        "counted)" in out
    )
    assert "A = " in out and "The tunable view does more" not in out.splitlines()[0]
    assert "Two views (HEAD~1), B = this tree" in out
    assert (
        "Verdict on CPU time (every database is SQLite, whose queries run in this thread; "
        "--metric wall to use wall time)." in out
    )
    rows = verdicts(out)
    assert rows["tunable"].startswith("slower"), out
    assert rows["steady"].startswith("no significant change"), out
    (report,) = reports.glob("against-*.json")
    document = json.loads(report.read_text())
    assert document["metric"] == "cpu" and document["pairs"] == 300 and document["rounds"] == 16
    assert document["commit"] == git(repo, "rev-parse", "HEAD~1")
    verdicts_saved = {row["view"]: row for row in document["verdicts"]}
    assert verdicts_saved["tunable"]["verdict"] == "slower"
    assert verdicts_saved["tunable"]["rounds"] == 8  # 150 pairs in rounds of 20
    assert len(document["conditions"]["load_end"]) == 3
    check_index(reports / "index.html")
    # The user's tree, index and worktrees are as they were.
    assert git(repo, "status", "--porcelain") == status
    assert len(git(repo, "worktree", "list").splitlines()) == 1


def check_index(index: Path) -> None:
    """The index lists the A/B replay with the view that changed, in a browser; it has no
    empty table of runs that were never made."""
    from tests.test_report_browser import chromium, open_page

    with chromium() as browser:
        page, problems = open_page(browser, index)
        rows = page.locator("#against tbody tr")
        assert rows.count() == 1
        cells = rows.nth(0).locator("td").all_inner_texts()
        assert cells[1] == "access.log" and cells[2].endswith("Two views (HEAD~1)")
        assert cells[3:6] == ["300", "16", "cpu time"]
        assert cells[6].startswith("tunable slower +") and cells[7] == "1"
        assert page.locator("#runs").count() == 0
        assert page.locator("#no-runs").inner_text().startswith("No run of profile_view")
        assert problems == []


@pytest.mark.slow
def test_the_same_revision_on_a_loaded_machine_is_no_significant_change(project):
    repo, log = project
    hog = subprocess.Popen(
        [sys.executable, "-c", "import time\nend = time.time() + 60\nwhile time.time() < end: pass"]
    )
    try:
        completed = run(repo, str(log), "--against", "HEAD", "--no-files")
    finally:
        hog.kill()
        hog.wait()
    assert completed.returncode == 0, completed.stderr
    rows = verdicts(completed.stdout)
    assert set(rows) == {"steady", "tunable", "requests)"}
    assert all(row.startswith("no significant change") for row in rows.values()), rows


@pytest.mark.slow
def test_a_log_too_short_for_three_rounds_of_a_view_gets_no_verdict_for_it(project):
    """40 requests of /steady/ make two rounds of 20: too few to tell the revision's change
    from one pair of processes' own speed, said as such, with no p-value, also in the JSON."""
    repo, log = project
    short = log.with_name("short.log")
    short.write_text("".join(LINE.format(n=i, s=i, path="/steady/") + "\n" for i in range(40)))
    reports = repo.parent / "short-reports"
    completed = run(repo, str(short), "--against", "HEAD~1", "--output-dir", str(reports))
    assert completed.returncode == 0, completed.stderr
    row = verdicts(completed.stdout)["steady"]
    assert row.startswith("too few rounds") and row.split()[3:5] == ["40", "2"], row
    assert "fewer than 3 rounds, too few to tell a change" in completed.stdout
    (report,) = reports.glob("against-*.json")
    assert "NaN" not in report.read_text()
    (saved, _overall) = json.loads(report.read_text())["verdicts"]
    assert saved["verdict"] == "too few rounds" and saved["p_value"] is None


@pytest.mark.slow
def test_a_secret_in_the_revisions_subject_or_a_logged_url_reaches_no_output(project):
    """The revision is described by its commit's subject, which people write keys into; the
    log's URLs carry tokens. Neither reaches stdout, stderr, the JSON or index.html."""
    repo, log = project
    key, token = "sk_live_9f8e7d6c5b4a3210", "tok_planted_7777"
    git(repo, "commit", "-q", "--allow-empty", "-m", f"Rotate api_key={key} for the views")
    planted = log.with_name("planted.log")
    planted.write_text(
        "".join(
            LINE.format(n=i, s=i, path=f"/steady/?access_token={token}") + "\n" for i in range(40)
        )
    )
    reports = repo.parent / "planted-reports"
    completed = run(repo, str(planted), "--against", "HEAD", "--output-dir", str(reports))
    assert completed.returncode == 0, completed.stderr
    assert "A = " in completed.stdout and "Rotate api_key=" in completed.stdout
    outputs = [completed.stdout, completed.stderr]
    outputs += [path.read_text() for path in reports.iterdir()]
    assert len(outputs) == 4  # the JSON report and index.html
    assert not [text for text in outputs if key in text or token in text]


@pytest.fixture
def small_log(tmp_path):
    log = tmp_path / "a.log"
    log.write_text(LINE.format(n=1, s=0, path="/timed/steady/") + "\n")
    return log


def replay_in_process(*args, **options):
    from io import StringIO

    from django.core.management import call_command

    call_command("profile_replay", *map(str, args), stdout=StringIO(), stderr=StringIO(), **options)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"workers": 2}, "--against replays in two processes of its own: drop --workers."),
        ({"compare": "x.json"}, "--against compares two revisions in one run: drop --compare."),
        ({"save": "x.json"}, "--against compares two revisions in one run: drop --save."),
        (
            {"export_locust": "l.py"},
            "--against compares two revisions in one run: drop --export-locust.",
        ),
        ({"group_by": "template"}, "--against groups by view or path prefix"),
        ({"metric": "cpu", "alpha": 2.0}, "--alpha is a probability in (0, 1), got 2.0."),
    ],
)
def test_options_that_conflict_with_against_are_one_line_errors(small_log, options, message):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as caught:
        replay_in_process(small_log, against="HEAD", **options)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


@pytest.mark.django_db
def test_a_project_outside_git_an_unknown_revision_and_no_git_are_one_line_errors(
    small_log, tmp_path, settings, monkeypatch
):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"^--against: no commit 'no-such-revision' in the git "):
        replay_in_process(small_log, against="no-such-revision")
    with pytest.raises(CommandError, match=r"^--against: '--help' is not a git revision\.$"):
        replay_in_process(small_log, against="--help")
    outside = tmp_path / "outside"
    outside.mkdir()
    settings.BASE_DIR = outside
    with pytest.raises(CommandError, match=r"is not in a git repository\.$"):
        replay_in_process(small_log, against="HEAD")
    monkeypatch.setenv("PATH", str(outside))
    with pytest.raises(CommandError, match=r"^--against needs git, and there is no git command"):
        replay_in_process(small_log, against="HEAD")


@pytest.mark.slow
def test_a_bad_revision_exits_1_with_one_line(project):
    repo, log = project
    completed = run(repo, str(log), "--against", "v9.9-missing", "--no-files")
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [
        f"CommandError: --against: no commit 'v9.9-missing' in the git repository {repo}."
    ]


@pytest.mark.slow
def test_a_revision_that_fails_to_start_is_an_error_and_its_checkout_is_removed(project):
    repo, log = project
    git(repo, "checkout", "-q", "-b", "broken")
    (repo / "proj" / "settings.py").write_text('raise RuntimeError("settings of a bad day")\n')
    git(repo, "commit", "-q", "-am", "Broken settings")
    git(repo, "checkout", "-q", "-")
    completed = run(repo, str(log), "--against", "broken", "--no-files")
    assert completed.returncode == 1
    assert "The replay of side A failed" in completed.stderr
    assert "settings of a bad day" in completed.stderr
    assert len(git(repo, "worktree", "list").splitlines()) == 1


@pytest.mark.slow
def test_ctrl_c_removes_the_other_revisions_checkout(project):
    import signal
    import time

    repo, log = project
    long_log = log.with_name("long.log")
    long_log.write_text(log.read_text() * 40)  # far longer than the test waits
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "HOME": str(repo.parent)}
    command = [sys.executable, "manage.py", "profile_replay", str(long_log), "--against", "HEAD~1"]
    process = subprocess.Popen(
        [*command, "--no-files"],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_handled,
    )
    try:
        deadline = time.monotonic() + 30
        while len(git(repo, "worktree", "list").splitlines()) < 2:
            assert time.monotonic() < deadline and process.poll() is None, "no checkout made"
            time.sleep(0.1)
        time.sleep(2)  # replaying
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode != 0
    assert len(git(repo, "worktree", "list").splitlines()) == 1
