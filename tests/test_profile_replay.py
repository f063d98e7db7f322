"""profile_replay on the test project: ranking, safety, save/compare, workers, bad input."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import threading
from collections import Counter
from io import StringIO
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.urls import Resolver404, resolve

from django_profilecmds.replay.engine import ReplayOptions, replay_file
from django_profilecmds.replay.sources import open_source
from tests.testapp.models import AuditEntry, Book

pytestmark = pytest.mark.django_db(databases="__all__")

FIXTURES = Path(__file__).parent / "fixtures" / "replay"
LINE = '203.0.113.{n} - - [20/Nov/2026:10:00:{s:02d} +0000] "{request}" {status} 512 "-" "curl/8"'


def write_log(path: Path, requests: list[str]) -> Path:
    lines = [
        request
        if request.startswith("!")
        else LINE.format(n=i % 250, s=i % 60, request=request, status=200)
        for i, request in enumerate(requests)
    ]
    path.write_text("\n".join(line.lstrip("!") for line in lines) + "\n")
    return path


def replay(*args, **options):
    out, err = StringIO(), StringIO()
    call_command("profile_replay", *[str(a) for a in args], stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def expected_views(path: Path, users: set[str]) -> Counter[str]:
    """Per view, the requests of a fixture that a replay should send (found with Django's own
    resolver, independently of the replay code); lines naming another user are left out."""
    counts: Counter[str] = Counter()
    for request in open_source(path):
        if request.method not in ("GET", "HEAD") or request.user not in (None, *users):
            continue
        try:
            match = resolve(unquote(urlsplit(request.path).path))
        except Resolver404:
            continue
        counts[match.view_name if match.url_name else match._func_path] += 1
    return counts


def test_views_are_ranked_by_share_with_the_command_to_dig_in(books, member, tmp_path):
    log = write_log(
        tmp_path / "access.log",
        ["GET /books/ HTTP/1.1"] * 20
        + ["GET /echo/?page=2 HTTP/1.1"] * 5
        + ["GET /wp-login.php HTTP/1.1"] * 3
        + ["GET /static/app.css HTTP/1.1"] * 2
        + ["POST /books/create/ HTTP/1.1"] * 2
        + ["!this is not a log line"],
    )
    out, err = replay(log, user=member.email, no_files=True)
    rows = [line for line in out.splitlines() if "profile_view" in line]
    assert "book-list" in rows[0] and "echo" in rows[1]
    assert rows[0].split()[1] == "20" and rows[1].split()[1] == "5"
    assert rows[0].endswith(f"python manage.py profile_view /books/ --user={member.email}")
    assert "profile_view '/echo/?page=2'" in rows[1]
    assert f"Replayed 25 requests (as ada@example.com (pk={member.pk}))" in out
    # The book list is an N+1 in every request, and says where.
    assert int(rows[0].split()[8]) == 20
    assert "book_list.html" in out.split("N+1 queries")[1]
    assert "/wp-login.php" in out and "/static/" in out
    assert "unsafe methods (POST 2): pass --include-unsafe" in out
    assert "Lines that are not requests: 1" in out and "this is not a log line" in out
    assert err == ""  # no progress bar when stderr is not a terminal


def test_unsafe_requests_are_replayed_only_when_asked_and_rolled_back(tmp_path):
    log = tmp_path / "requests.jsonl"
    log.write_text(
        "\n".join(
            json.dumps({"method": "POST", "path": "/books/create/", "body": {"title": f"T{i}"}})
            for i in range(3)
        )
        + "\n"
    )
    stats = replay_file(log, ReplayOptions(include_unsafe=True))
    assert stats.views["book-create"].requests == 3
    assert stats.views["book-create"].statuses == {"201": 3}
    assert stats.emails == 3
    assert Book.objects.count() == 0 and AuditEntry.objects.using("audit").count() == 0
    assert not getattr(mail, "outbox", [])


@pytest.mark.parametrize("name", ["access.log", "common.log", "session.har", "requests.jsonl"])
def test_each_recorded_format_replays_the_requests_that_resolve(books, member, name):
    source = FIXTURES / name
    stats = replay_file(source, ReplayOptions(user=member.email))
    expected = expected_views(source, {member.email})
    assert {key: view.requests for key, view in stats.views.items()} == dict(expected)
    parsed = open_source(source)
    read = sum(1 for _ in parsed)
    assert stats.read == read and stats.problem_count == parsed.problem_count > 0
    assert len(stats.problems) == min(5, parsed.problem_count)
    assert (
        stats.replayed
        + sum(stats.not_found.values())
        + sum(stats.skipped_methods.values())
        + sum(stats.unknown_users.values())
        == read
    )


def test_json_lines_name_their_own_users(books, member, tmp_path):
    log = tmp_path / "users.jsonl"
    lines = [
        {"path": "/echo/", "user": member.email},
        {"path": "/echo/", "user": str(member.pk)},
        {"path": "/echo/", "user": "nobody@example.com"},
        {"path": "/echo/"},
    ]
    log.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    out, _ = replay(log, no_files=True)
    assert "echo" in out and " 3 " in out.splitlines()[3]
    assert "no such user: 'nobody@example.com' (1)" in out


def test_limit_and_seeded_sample(books, tmp_path):
    log = write_log(tmp_path / "a.log", [f"GET /books/{i}/ HTTP/1.1" for i in range(200)])
    assert replay_file(log, ReplayOptions(limit=7)).replayed == 7
    first = replay_file(log, ReplayOptions(sample=0.25, seed=3))
    again = replay_file(log, ReplayOptions(sample=0.25, seed=3))
    other = replay_file(log, ReplayOptions(sample=0.25, seed=4))
    assert first.replayed == again.replayed and first.sampled_out == 200 - first.replayed
    assert 30 <= first.replayed <= 70
    assert sorted(first.views["book-detail"].times.values) != sorted(
        other.views["book-detail"].times.values
    )


def test_secrets_in_recorded_paths_stay_out_of_output_and_files(tmp_path):
    log = write_log(
        tmp_path / "a.log",
        [
            "GET /echo/?api_key=SEKRETKEY123&page=1 HTTP/1.1",
            "GET /nowhere/?token=SEKRETTOKEN456 HTTP/1.1",
            "!garbage line with password=SEKRETPASS789",
        ],
    )
    out, err = replay(log, output_dir=tmp_path / "profiles", save=tmp_path / "s.json")
    written = [path.read_text() for path in (tmp_path / "profiles").iterdir()]
    written.append((tmp_path / "s.json").read_text())
    for text in [out, err, *written]:
        for secret in ("SEKRETKEY123", "SEKRETTOKEN456", "SEKRETPASS789"):
            assert secret not in text
    assert "profile_view '/echo/?page=1'" in out


def test_report_and_index_list_the_replay(books, tmp_path):
    log = write_log(tmp_path / "shop.log", ["GET /books/ HTTP/1.1"] * 3 + ["GET /x/ HTTP/1.1"])
    out, _ = replay(log, output_dir=tmp_path)
    page = next(tmp_path.glob("replay-shop-log-*.html")).read_text()
    assert "book-list" in page and "python manage.py profile_view /books/" in page
    assert "/x/" in page
    index = (tmp_path / "index.html").read_text()
    assert "Replays" in index and "shop.log" in index
    data = json.loads(next(tmp_path.glob("replay-shop-log-*.json")).read_text())
    assert data["replay"]["views"]["book-list"]["requests"] == 3


def timed_log(path: Path, count: int = 30) -> Path:
    return write_log(path, ["GET /timed/steady/ HTTP/1.1", "GET /timed/tunable/ HTTP/1.1"] * count)


def test_compare_detects_a_slowed_view_and_not_an_unchanged_one(tmp_path):
    log = timed_log(tmp_path / "timed.log")
    replay(log, save=tmp_path / "before.json", no_files=True)
    with override_settings(TESTAPP_TUNABLE_DELAY=0.009):
        # A threshold well above machine noise (sleep overshoot on a loaded machine can shift a
        # 3 ms view by 5%) and far below the slowed view's change (about +300%).
        out, _ = replay(
            log,
            compare=tmp_path / "before.json",
            output_dir=tmp_path / "p",
            min_change=0.5,
            metric="wall",  # the view sleeps: no CPU time
        )
    verdicts = {line.split()[-1]: line for line in out.splitlines() if "ms" in line and "%" in line}
    assert verdicts["tunable"].split()[0] == "slower"
    assert verdicts["steady"].lstrip().startswith("no significant change")
    page = next((tmp_path / "p").glob("replay-*.html")).read_text()
    assert "Compared with the baseline" in page and "slower" in page
    assert "1 no significant change, 1 slower" in (tmp_path / "p" / "index.html").read_text()


def test_profile_view_repeat_save_and_compare(tmp_path):
    options = {"repeat": 15, "profiler": "none", "output_dir": tmp_path}
    call_command(
        "profile_view", "/timed/tunable/", save=tmp_path / "a.json", stdout=StringIO(), **options
    )
    out = StringIO()
    with override_settings(TESTAPP_TUNABLE_DELAY=0.009):
        call_command(
            "profile_view", "/timed/tunable/", compare=tmp_path / "a.json", stdout=out, **options
        )
    text = out.getvalue()
    assert "Compared with the baseline" in text
    assert any(line.strip().startswith("slower") for line in text.splitlines())
    report = max(tmp_path.glob("get-timed-tunable-*.html"), key=lambda p: p.stat().st_mtime)
    assert "Compared with the baseline" in report.read_text()
    assert "slower +" in (tmp_path / "index.html").read_text()


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_workers_merge_to_the_single_process_counts(tmp_path, monkeypatch):
    from django_profilecmds.replay import engine
    from tests.testapp.models import Author

    monkeypatch.setattr(engine, "usable_cpus", lambda: 1)

    author = Author.objects.create(name="Committed")  # workers see committed rows only
    Book.objects.bulk_create(Book(title=f"B{i}", author=author) for i in range(8))
    log = FIXTURES / "access.log"
    single = replay_file(log, ReplayOptions())
    parallel = replay_file(log, ReplayOptions(workers=2))
    assert parallel.replayed == single.replayed > 0
    assert parallel.warnings == [
        "2 workers shared 1 CPU: they waited for each other, so the times are longer than one "
        "request alone takes."
    ]
    assert parallel.read == single.read and parallel.problem_count == single.problem_count
    assert parallel.not_found == single.not_found
    assert parallel.skipped_methods == single.skipped_methods
    for key, view in single.views.items():
        other = parallel.views[key]
        assert (other.requests, other.total_queries, other.statuses, other.flagged_requests) == (
            view.requests,
            view.total_queries,
            view.statuses,
            view.flagged_requests,
        )


def test_export_locust_writes_the_same_requests(tmp_path):
    log = write_log(
        tmp_path / "a.log",
        [
            "GET /books/ HTTP/1.1",
            "GET /echo/?q=1 HTTP/1.1",
            "GET /none/ HTTP/1.1",
            "POST /echo/ HTTP/1.1",
        ],
    )
    out, _ = replay(log, export_locust=tmp_path / "locustfile.py")
    assert "2 requests for 2 views" in out
    source = (tmp_path / "locustfile.py").read_text()
    compile(source, "locustfile.py", "exec")
    data = source.split("r'''", 1)[1].split("'''", 1)[0]
    rows = json.loads(data)
    assert [(row[0], row[1], row[4]) for row in rows] == [
        ("GET", "/books/", "book-list"),
        ("GET", "/echo/?q=1", "echo"),
    ]


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (["missing.log"], {}, "does not exist"),
        (["."], {}, "directory"),
        (["{empty}"], {}, "empty"),
        (["{log}"], {"limit": 0}, "--limit must be at least 1"),
        (["{log}"], {"sample": 0.0}, "--sample is a fraction"),
        (["{log}"], {"sample": 1.5}, "--sample is a fraction"),
        (["{log}"], {"workers": 0}, "--workers must be at least 1"),
        (["{log}"], {"user": "nobody@example.com"}, "nobody@example.com"),
        (["{log}"], {"compare": "nope.json"}, "does not exist"),
        (["{log}"], {"alpha": 1.5}, "--alpha"),
        (["{log}"], {"min_change": -0.1}, "--min-change"),
        (["{log}"], {"format": "jsonl"}, "No request was replayed"),
        (["{lost}"], {}, "No request was replayed"),
        (["{log}"], {"export_locust": "{log}/x.py"}, "Cannot write"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path, monkeypatch, args, options, message):
    monkeypatch.chdir(tmp_path)
    log = write_log(tmp_path / "a.log", ["GET /echo/ HTTP/1.1"])
    lost = write_log(tmp_path / "lost.log", ["GET /nowhere/ HTTP/1.1"])
    (tmp_path / "empty.log").write_text("")
    names = {"log": log, "lost": lost, "empty": tmp_path / "empty.log"}
    args = [arg.format(**names) for arg in args]
    options = {k: v.format(**names) if isinstance(v, str) else v for k, v in options.items()}
    before = Book.objects.count()
    with pytest.raises(CommandError, match=message):
        replay(*args, no_files=True, **options)
    assert Book.objects.count() == before


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_with_rate_and_eta(tmp_path):
    log = timed_log(tmp_path / "timed.log", count=60)  # 0.4 s of views: several updates
    err = Terminal()
    call_command("profile_replay", str(log), no_files=True, stdout=StringIO(), stderr=err)
    updates = [part for part in err.getvalue().split("\r") if "lines" in part]
    assert updates and "/120 lines" in updates[-1] and "/s" in updates[-1] and "ETA" in updates[-1]
    assert err.getvalue().endswith("\r\x1b[K")  # the bar is cleared before the table


def test_exported_locustfile_sends_the_recorded_requests_to_a_server(tmp_path):
    """Real Locust, in its own process, against a real HTTP server that records what it gets."""
    import subprocess
    import sys
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    log = write_log(
        tmp_path / "a.log",
        ["GET /books/ HTTP/1.1", "GET /echo/?q=caf%C3%A9 HTTP/1.1", "GET /nowhere/ HTTP/1.1"],
    )
    replay(log, export_locust=tmp_path / "locustfile.py")
    seen: list[tuple[str, str]] = []

    def app(environ, start_response):
        query = environ.get("QUERY_STRING")
        path = environ["PATH_INFO"] + (f"?{query}" if query else "")
        seen.append((environ["REQUEST_METHOD"], path))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(tmp_path / "locustfile.py"), "--headless"]
            + ["--users", "1", "--spawn-rate", "1", "--run-time", "5s", "--only-summary"]
            + ["--host", f"http://127.0.0.1:{server.server_port}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(seen) >= 4
    # In the recorded order, round and round; the unresolvable path was left out.
    assert seen[:4] == [("GET", "/books/"), ("GET", "/echo/?q=caf%C3%A9")] * 2


def test_every_replayed_request_carries_the_user(member, tmp_path):
    log = write_log(tmp_path / "a.log", ["GET /private/ HTTP/1.1"] * 3)
    stats = replay_file(log, ReplayOptions(user=member.email))
    assert stats.views["private"].statuses == {"200": 3}


def pipe_path(data: bytes, fds: list[int]) -> str:
    """A real pipe fed ``data`` by a thread, as a path (``/dev/fd/N``), as the shell's
    ``cat access.log | manage.py profile_replay /dev/stdin`` gives one."""
    read_end, write_end = os.pipe()
    fds.append(read_end)

    def feed() -> None:
        # A broken pipe: the test failed before reading all of it.
        with contextlib.suppress(BrokenPipeError), open(write_end, "wb") as pipe:
            pipe.write(data)

    threading.Thread(target=feed, daemon=True).start()
    return f"/dev/fd/{read_end}"


@pytest.mark.parametrize("kind", ["log", "gzip", "jsonl", "har"])
def test_traffic_from_a_pipe_is_replayed_whole(tmp_path, kind):
    """Detecting the format read the start of the pipe, which was then lost (and so was what
    the progress bar counted): 3,436 of 5,000 lines were replayed."""
    count = 3000
    lines = [
        LINE.format(n=i % 250, s=i % 60, request=f"GET /echo/?i={i} HTTP/1.1", status=200)
        for i in range(count)
    ]
    if kind == "jsonl":
        lines = [json.dumps({"path": f"/echo/?i={i}"}) for i in range(count)]
    data = ("\n".join(lines) + "\n").encode()
    if kind == "gzip":
        data = gzip.compress(data)
    if kind == "har":
        entries = [
            {"request": {"method": "GET", "url": f"http://h/echo/?i={i}"}} for i in range(count)
        ]
        data = json.dumps({"log": {"version": "1.2", "entries": entries}}).encode()
    fds: list[int] = []
    out = StringIO()
    try:
        call_command(
            "profile_replay", pipe_path(data, fds), no_files=True, stdout=out, stderr=Terminal()
        )
        if kind != "har":  # a HAR document is loaded whole, so workers can share it
            with pytest.raises(CommandError, match="save it to a file first"):
                replay(pipe_path(data, fds), workers=2, no_files=True)
    finally:
        for fd in fds:
            os.close(fd)
    assert (
        f"Replayed {count:,} requests" in out.getvalue()
        or f"Replayed {count} requests" in out.getvalue()
    )
    assert "not requests" not in out.getvalue()


def test_a_har_past_the_cap_is_a_one_line_error(tmp_path, monkeypatch):
    from django_profilecmds.replay import sources

    monkeypatch.setattr(sources, "MAX_HAR", 100_000)
    entry = {"request": {"method": "GET", "url": "http://h/echo/"}}
    har = tmp_path / "big.har.gz"
    har.write_bytes(gzip.compress(json.dumps({"log": {"entries": [entry] * 5000}}).encode()))
    with pytest.raises(CommandError) as raised:
        replay(har, no_files=True)
    assert str(raised.value).startswith(
        f"{har} is larger than 100,000 bytes (uncompressed), the most read of a HAR file"
    )
    assert "\n" not in str(raised.value) and raised.value.returncode == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_a_host_that_allowed_hosts_rejects_fails_before_anything_is_replayed(tmp_path, workers):
    """Every request was answered 400 (DisallowedHost), and the replay exited 0 with 0 errors."""
    log = write_log(tmp_path / "a.log", ["GET /echo/ HTTP/1.1"] * 3)
    with pytest.raises(CommandError) as raised:
        replay(log, host="evil.com", workers=workers, no_files=True)
    message = str(raised.value)
    assert message.startswith("The Host 'evil.com' is not in ALLOWED_HOSTS")
    assert message.endswith("Pass --host with an allowed name, e.g. --host shop.example.com.")
    assert raised.value.returncode == 1


@override_settings(USE_X_FORWARDED_HOST=True)
def test_a_recorded_forwarded_host_does_not_stand_in_for_the_host(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"path": "/echo/", "headers": {"X-Forwarded-Host": "evil.com"}}))
    stats = replay_file(path, ReplayOptions())
    assert stats.views["echo"].statuses == {"200": 1}


def test_4xx_answers_are_counted_apart_from_errors_and_do_not_fail_the_replay(tmp_path):
    """A log holds 404s and 405s that production answered too: worth seeing, not a failure."""
    log = write_log(
        tmp_path / "a.log",
        ["GET /books/create/ HTTP/1.1"] * 3
        + ["GET /unavailable/ HTTP/1.1"]
        + ["GET /echo/ HTTP/1.1"] * 2,
    )
    out, _ = replay(log, no_files=True)
    assert "1 error (5xx or raised), 3 client errors (405: 3)." in out
    header = next(line for line in out.splitlines() if line.lstrip().startswith("share"))
    assert header.split()[14:17] == ["errors", "4xx", "view"]
    rows = {line.split()[11]: line.split() for line in out.splitlines() if "profile_view" in line}
    assert rows["book-create"][9:11] == ["0", "3"]
    assert rows["unavailable"][9:11] == ["1", "0"]


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie holds no files or connections, only its exit status)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_end_when_the_replay_is_killed(tmp_path):
    """Killed with SIGKILL, the replay left its workers replaying for minutes, holding the
    database files."""
    import signal
    import subprocess
    import sys
    import time

    log = timed_log(tmp_path / "slow.log", count=3000)  # 18 s of views: far longer than the test
    root = Path(__file__).resolve().parent.parent
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(root),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PROFILECMDS_TEST_DB_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "django", "profile_replay", str(log), "--workers", "2"]
    parent = subprocess.Popen(
        [*command, "--no-files"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while len(workers) < 2 and time.monotonic() < deadline and parent.poll() is None:
            time.sleep(0.1)
            workers = children_of(parent.pid)
        assert len(workers) == 2, "the workers did not start"
        time.sleep(1)  # replaying
        assert all(running(pid) for pid in workers)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 5
    while any(running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if running(pid)]
    for pid in left:  # do not leave them behind whatever the outcome
        os.kill(pid, signal.SIGKILL)
    assert not left, "workers outlived the replay"


def test_a_compare_file_that_never_ends_is_a_one_line_error(tmp_path):
    log = write_log(tmp_path / "a.log", ["GET /echo/ HTTP/1.1"])
    with pytest.raises(CommandError) as raised:
        replay(log, compare="/dev/zero", no_files=True)
    assert str(raised.value) == (
        "--compare: /dev/zero is larger than 64 MiB, far more than --save writes; "
        "is it the right file?"
    )
    assert raised.value.returncode == 1


def test_a_compare_file_with_nan_samples_is_a_one_line_error(tmp_path):
    log = timed_log(tmp_path / "timed.log", count=3)
    replay(log, save=tmp_path / "before.json", no_files=True)
    saved = json.loads((tmp_path / "before.json").read_text())
    saved["entries"]["steady"]["samples"][1] = float("nan")
    (tmp_path / "before.json").write_text(json.dumps(saved))
    with pytest.raises(CommandError) as raised:
        replay(log, compare=tmp_path / "before.json", no_files=True)
    assert str(raised.value) == (
        f"--compare: {tmp_path / 'before.json'} has malformed entries: sample 2 of 'steady' is "
        "nan, not a finite number of seconds of 0 or more."
    )
    assert raised.value.returncode == 1


def test_a_nul_byte_in_a_user_skips_that_line_and_not_the_replay(member, tmp_path):
    """On PostgreSQL, which refuses NUL bytes in text, looking the user up aborted the replay."""
    rows = [
        {"path": "/private/", "user": member.email},
        {"path": "/private/", "user": "ada\u0000@example.com"},
        {"path": "/private/", "user": member.email},
    ]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    out, _ = replay(path, no_files=True)
    assert "Replayed 2 requests" in out
    assert 'line 2: a control character (0x00) in "user"' in out
    assert "no such user" not in out


def test_control_characters_from_the_traffic_are_escaped_in_what_is_shown(tmp_path):
    attack = "\x1b]0;owned\x07\x1b[2J\u202enot a log line\rGET /fake/"
    log = write_log(
        tmp_path / "a.log",
        ["GET /echo/ HTTP/1.1", f"!{attack}", "GET /echo/?q=%1B HTTP/1.1"]
        + ['!::1 - - [20/Nov/2026:10:00:00 +0000] "GET /echo/ HTTP/1.1" 200 5 "-" "\x1b[31m"'],
    )
    baseline = tmp_path / "before.json"
    baseline.write_text(
        json.dumps(
            {
                "format": "django-profilecmds/samples",
                "version": 1,
                "entries": {"\x1b[2Jecho": {"samples": [0.01] * 5, "queries_per_request": 0}},
            }
        )
    )
    out, err = replay(log, output_dir=tmp_path / "p", compare=baseline)
    assert "\x1b" not in out + err and "\r" not in out and "\u202e" not in out
    assert "line 2: not a combined or common log line: \\x1b]0;owned\\x07\\x1b[2J\\u202e" in out
    assert "\\x1b[31m" in out
    assert "\\x1b[2Jecho" in out
    page = next((tmp_path / "p").glob("replay-*.html")).read_text()
    assert "\x1b" not in page and "\\x1b]0;owned" in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--nplusone-threshold", "-5"], "--nplusone-threshold must be at least 2, got -5."),
        (["--top", "-1"], "--top must be at least 1, got -1."),
        (["--top", "0"], "--top must be at least 1, got 0."),
        (["--workers", "-2"], "--workers must be at least 1, got -2."),
        (["--workers", "300"], "--workers must be at most 32, got 300."),
        (["--user", ""], "--user is empty"),
    ],
)
def test_bad_numbers_and_an_empty_user_are_one_line_errors(args, message):
    with pytest.raises(CommandError, match=message) as raised:
        replay(FIXTURES / "access.log", *args, "--no-files")
    assert raised.value.returncode == 1


@pytest.mark.parametrize("option", ["save", "export_locust"])
def test_save_and_export_replace_a_linked_file_and_write_it_private(tmp_path, option):
    import os
    import stat

    log = write_log(tmp_path / "a.log", ["GET /echo/ HTTP/1.1"])
    # The victim is a file the option wrote before (one it did not write is never replaced).
    victim = tmp_path / "victim.txt"
    replay(log, no_files=True, **{option: str(victim)})
    victim.chmod(0o644)
    precious = victim.read_bytes()
    target = tmp_path / "out" / "written.txt"
    target.parent.mkdir()
    os.link(victim, target)
    replay(log, no_files=True, **{option: str(target)})
    assert victim.read_bytes() == precious and stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert target.stat().st_nlink == 1 and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["written.txt"]  # no temporary file


@pytest.mark.parametrize("option", ["save", "export_locust"])
@pytest.mark.parametrize(
    ("kind", "message"), [("symlink", "symbolic link"), ("directory", "is a directory")]
)
def test_save_and_export_refuse_a_symlink_or_a_directory(tmp_path, option, kind, message):
    log = write_log(tmp_path / "a.log", ["GET /echo/ HTTP/1.1"])
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    target = tmp_path / "written.txt"
    if kind == "symlink":
        target.symlink_to(victim)
    else:
        target.mkdir()
    with pytest.raises(CommandError, match=message) as excinfo:
        replay(log, no_files=True, **{option: str(target)})
    assert "\n" not in str(excinfo.value)
    assert victim.read_text() == "precious\n"
    assert target.is_symlink() if kind == "symlink" else not any(target.iterdir())


def test_a_view_named_like_a_credential_keeps_its_figures_in_the_files(member, tmp_path):
    """A view named ``set-password`` (or ``api-list``) had every figure masked in the saved
    baseline and the reports, as if its name were a password field's, and --compare then
    refused the baseline as malformed."""
    log = write_log(tmp_path / "a.log", ["GET /set-password/ HTTP/1.1"] * 3)
    before = tmp_path / "before.json"
    replay(log, user=member.email, save=before, output_dir=tmp_path / "p")
    assert json.loads(before.read_text())["entries"]["set-password"]["requests"] == 3
    data = json.loads(next((tmp_path / "p").glob("replay-*.json")).read_text())
    row = data["replay"]["views"]["set-password"]
    assert row["requests"] == 3 and row["statuses"] == {"200": 3} and row["share"] == 1.0
    page = next((tmp_path / "p").glob("replay-*.html")).read_text()
    assert '<td data-value="3" class="num">3</td>' in page
    out, _ = replay(log, user=member.email, compare=before, no_files=True)
    assert "Compared with the baseline" in out and "set-password" in out.split("Compared")[1]
