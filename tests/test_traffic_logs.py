"""Reading response times from production logs: nginx, Apache, gunicorn and JSON lines.

The fixtures are written by tests/fixtures/traffic/make_fixtures.py: 2,000 lines each, the
lines in MALFORMED not requests, line BLANK blank, and the values checked below (the first
lines, and nginx.log's lines 1000 and 1001) written out there as they are here.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_profilecmds.replay.lines import MAX_LINE, MAX_PROBLEMS
from django_profilecmds.traffic import timed
from django_profilecmds.traffic.logs import (
    TRAFFIC_FORMATS,
    Problem,
    SourceError,
    TimedRequest,
    TrafficLog,
)

FIXTURES = Path(__file__).parent / "fixtures" / "traffic"
LINES = 2000
MALFORMED = [7, 411, 803, 1207, 1688]
BLANK = 1500
REQUESTS = LINES - len(MALFORMED) - 1
NGINX = (
    '203.0.113.7 - - [10/Oct/2026:06:00:01 +0000] "GET /books/17/?page=2 HTTP/1.1" 200 9841 '
    '"https://www.google.com/" "curl/8.5.0"'
)
# (format detected, options, what the first two lines are)
LOGS: dict[str, tuple[str, dict[str, Any], list[tuple[Any, ...]]]] = {
    "nginx.log": (
        "nginx",
        {},
        [
            ((2026, 10, 10, 6, 0, 1), "GET", "/books/17/", 200, 0.087, {"upstream": 0.085}),
            ((2026, 10, 10, 6, 0, 2), "GET", "/static/app.js", 200, 0.001, {}),
        ],
    ),
    "apache.log": (  # +0200: two hours ahead of UTC; %D in microseconds
        "apache",
        {},
        [
            ((2026, 10, 10, 6, 0, 2), "GET", "/books/17/", 200, 0.061234, {}),
            ((2026, 10, 10, 6, 0, 5), "GET", "/static/app.js", 200, 0.00117, {}),
        ],
    ),
    "gunicorn.log": (
        "gunicorn",
        {},
        [
            ((2026, 10, 10, 12, 0, 3), "GET", "/api/listings/", 200, 0.213455, {}),
            ((2026, 10, 10, 12, 0, 2), "POST", "/admin/login/", 200, 0.177623, {}),
        ],
    ),
    "gunicorn_ms.log": (  # %(M)s: nothing in an integer says milliseconds
        "gunicorn",
        {"format": "gunicorn", "duration_unit": "ms"},
        [
            ((2026, 10, 10, 12, 0, 3), "GET", "/api/listings/", 200, 0.213, {}),
            ((2026, 10, 10, 12, 0, 6), "GET", "/books/", 200, 0.053, {}),
        ],
    ),
    "app.jsonl": (
        "jsonl",
        {},
        [
            (
                (2026, 10, 10, 12, 0, 4, 125000),
                "GET",
                "/search/",
                200,
                0.4125,
                {"db": 0.038, "cache": 0.0015, "external": 0.301},
            ),
            (
                (2026, 10, 10, 12, 0, 14, 593000),
                "GET",
                "/admin/login/",
                200,
                0.0479,
                {"db": 0.0135, "cache": 0.001},
            ),
        ],
    ),
}


def utc(year, month, day, hour, minute, second, microsecond=0):
    moment = datetime(year, month, day, hour, minute, second, microsecond, timezone.utc)
    return moment.timestamp()


def request(moment, method, path, status, duration, layers, line):
    return TimedRequest(utc(*moment), method, path, status, duration, layers, line)


def same(got: TimedRequest, expected: TimedRequest) -> bool:
    """Equal, the seconds to a microsecond (``412.5 / 1000`` need not be ``0.4125``)."""
    return (
        (got.method, got.path, got.status, got.line, set(got.layers))
        == (expected.method, expected.path, expected.status, expected.line, set(expected.layers))
        and got.time == pytest.approx(expected.time, abs=1e-6)
        and got.duration == pytest.approx(expected.duration, abs=1e-9)
        and all(got.layers[k] == pytest.approx(v, abs=1e-9) for k, v in expected.layers.items())
    )


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def one_line_error(error: pytest.ExceptionInfo[SourceError], path: Path | None = None) -> str:
    message = str(error.value)
    assert "\n" not in message
    if path is not None:
        assert str(path) in message
    return message


@pytest.mark.parametrize("name", sorted(LOGS))
def test_each_log_is_read_with_its_times_paths_and_layers(name):
    format, options, first = LOGS[name]
    path = FIXTURES / name
    log = TrafficLog([path], **options)
    requests = list(log)
    assert log.formats == {str(path): format}
    assert (log.lines_read, log.requests, log.skipped) == (LINES, REQUESTS, len(MALFORMED))
    assert len(requests) == REQUESTS
    for got, (line, expected) in zip(requests, enumerate(first, start=1), strict=False):
        moment, method, url_path, status, duration, layers = expected
        assert same(got, request(moment, method, url_path, status, duration, layers, line)), got
    numbers = [r.line for r in requests]
    assert numbers == sorted(numbers)
    assert not set(numbers) & {*MALFORMED, BLANK}
    assert all("?" not in r.path and r.path.startswith("/") for r in requests)
    assert all(r.method in ("GET", "POST") and r.status in (200, 302, 304, 404) for r in requests)
    assert all(0 <= r.duration < 10 for r in requests)
    assert [p.line for p in log.problems] == MALFORMED
    assert all(p.file == str(path) for p in log.problems)
    assert log.bytes_read == log.bytes_total == path.stat().st_size


def test_upstream_times_of_several_upstreams_are_summed_and_a_dash_is_no_layer():
    requests = {r.line: r for r in TrafficLog([FIXTURES / "nginx.log"])}
    layers = {"upstream": 0.608}  # 0.010, 0.598
    slow = request((2026, 10, 10, 7, 5, 56), "GET", "/api/listings/", 200, 0.612, layers, 1000)
    assert same(requests[1000], slow)
    static = request((2026, 10, 10, 7, 5, 57), "GET", "/static/app.css", 304, 0.0, {}, 1001)
    assert requests[1001] == static


def test_quoted_times_and_other_upstream_forms(tmp_path):
    log = write(
        tmp_path / "access.log",
        f'{NGINX} "0.123" "0.100"',
        f"{NGINX} 0.300 0.004 : 0.250",
        f"{NGINX} 0.300 -, 0.200",
        f"{NGINX} 0.050 -",
        f"{NGINX} 0.050",
        '203.0.113.7 - - [10/Oct/2026:06:00:01 +0000] "GET /a HTTP/1.1" - - 0.5',
    )
    requests = list(TrafficLog([log]))
    assert [(r.duration, dict(r.layers)) for r in requests] == [
        (0.123, {"upstream": 0.1}),
        (0.3, {"upstream": pytest.approx(0.254)}),
        (0.3, {"upstream": 0.2}),
        (0.05, {}),
        (0.05, {}),
        (0.5, {}),
    ]
    assert requests[-1].status is None and requests[-1].path == "/a"


def test_absolute_targets_lose_their_host_and_query(tmp_path):
    log = write(
        tmp_path / "access.log",
        '203.0.113.7 - - [10/Oct/2026:06:00:01 +0000] "get http://books.example.com/books/?'
        'token=abc HTTP/1.1" 200 5 "-" "-" 0.010 0.009',
    )
    (only,) = TrafficLog([log])
    assert (only.method, only.path) == ("GET", "/books/")


def test_times_keep_their_offset_and_fraction(tmp_path):
    log = write(
        tmp_path / "access.log",
        NGINX.replace("+0000", "-0530") + " 0.010 -",
        NGINX.replace("06:00:01 +0000", "06:00:01.250 +0000") + " 0.010 -",
        NGINX.replace("06:00:01", "06:01:01") + " 0.010 -",
    )
    times = [r.time for r in TrafficLog([log])]
    assert times == [
        utc(2026, 10, 10, 11, 30, 1),
        utc(2026, 10, 10, 6, 0, 1) + 0.25,
        utc(2026, 10, 10, 6, 1, 1),
    ]


def test_an_integer_is_read_as_microseconds_unless_a_unit_is_given():
    path = FIXTURES / "gunicorn_ms.log"
    log = TrafficLog([path])
    first = next(iter(log))
    assert log.formats == {str(path): "apache"}  # as gunicorn's %(D)s or Apache's %D would be
    assert first.duration == pytest.approx(213e-6)
    (first,) = [r for r in TrafficLog([path], duration_unit="ms") if r.line == 1]
    assert first.duration == pytest.approx(0.213)


def test_a_named_format_is_used_as_given():
    log = TrafficLog([FIXTURES / "apache.log"], format="nginx")
    assert sum(1 for _ in log) == REQUESTS
    assert log.formats == {str(FIXTURES / "apache.log"): "nginx"}


def test_rotations_are_merged_by_time_in_whatever_order_they_are_given():
    current, rotated = FIXTURES / "nginx.log", FIXTURES / "nginx.log.1.gz"
    log = TrafficLog([current, rotated])
    assert log.formats == {str(current): "nginx", str(rotated): "nginx"}
    assert log.bytes_total == current.stat().st_size + rotated.stat().st_size
    stream = iter(log)
    first = next(stream)
    assert first.time == utc(2026, 10, 9, 6, 0, 12)  # the rotated, gzipped, day before
    # The current log is not opened before the merge reaches its first request.
    assert log.bytes_read <= rotated.stat().st_size
    rest = list(stream)
    times = [first.time, *(r.time for r in rest)]
    assert len(times) == 2 * REQUESTS and times == sorted(times)
    assert (log.requests, log.skipped, log.lines_read) == (2 * REQUESTS, 10, 2 * LINES)
    assert log.bytes_read == log.bytes_total
    assert [p.file for p in log.problems] == [str(rotated)] * MAX_PROBLEMS
    again = [(r.time, r.line) for r in TrafficLog([rotated, current])]
    assert again == [(first.time, first.line), *((r.time, r.line) for r in rest)]


def test_logs_of_two_servers_at_once_are_interleaved_by_time(tmp_path):
    lines = (FIXTURES / "nginx.log").read_text().splitlines()
    one = write(tmp_path / "web1.log", *lines[0::2])
    two = write(tmp_path / "web2.log", *lines[1::2])
    merged = [r.time for r in TrafficLog([two, one])]
    assert merged == sorted(r.time for r in TrafficLog([FIXTURES / "nginx.log"]))


def test_a_file_is_read_in_its_own_order_when_lines_are_a_little_out_of_time_order():
    # Apache logs when a request started, and writes the line when it ends.
    requests = list(TrafficLog([FIXTURES / "apache.log"]))
    times = [r.time for r in requests]
    assert times != sorted(times)
    assert [r.line for r in requests] == sorted(r.line for r in requests)
    assert max(a - b for a, b in zip(times, times[1:], strict=False)) < 5  # seconds


def test_problems_keep_no_query_string():
    for name in ("nginx.log", "apache.log", "gunicorn.log", "app.jsonl"):
        log = TrafficLog([FIXTURES / name])
        list(log)
        texts = [p.text for p in log.problems]
        assert any(text.endswith("?...") for text in texts), name
        for secret in ("token", "api_key", "sid=", "9f2c71e0b4", "eyJhbGciOi"):
            assert not any(secret in f"{p.text} {p.reason}" for p in log.problems), name
    nginx = TrafficLog([FIXTURES / "nginx.log"])
    list(nginx)
    assert nginx.problems[1] == Problem(
        411,
        '203.0.113.54 - - [10/Oct/2026:06:25:44 +0000] "GET /api/listings/?...',
        "no response time at the end of the line",
        str(FIXTURES / "nginx.log"),
    )
    assert [p.reason for p in nginx.problems] == [
        "a TLS handshake sent to a plain HTTP port",
        "no response time at the end of the line",
        'no request line ("-")',
        "no response time at the end of the line",
        "not a combined or common log line",
    ]


def test_a_long_line_is_a_problem_shortened_and_an_overlong_one_is_not_held(tmp_path):
    log = write(
        tmp_path / "access.log",
        f"{NGINX} 0.010 -",
        "x" * 500,
        NGINX.replace("/books/17/", "/books/" + "q" * (2 * MAX_LINE)) + " 0.010 -",
        f"{NGINX} 0.020 -",
    )
    traffic = TrafficLog([log])
    assert [r.line for r in traffic] == [1, 4]
    assert (traffic.lines_read, traffic.skipped) == (4, 2)
    assert traffic.problems[0].text == "x" * 117 + "..."
    assert traffic.problems[1].reason == f"line longer than {MAX_LINE:,} characters"


def test_json_lines_fields_given_by_name_nested_or_not(tmp_path):
    log = write(
        tmp_path / "app.jsonl",
        '{"when": 1791633604125, "http": {"elapsed_us": 2500}, "path": "/books/?page=2", '
        '"method": "post", "status": "201", "db_time": 0.001, "timings": {"sql_ms": 4}}',
    )
    (only,) = TrafficLog([log], time_field="when", duration_field="http.elapsed_us")
    assert only == TimedRequest(1791633604.125, "POST", "/books/", 201, 0.0025, {"db": 0.001}, 1)
    (only,) = TrafficLog(
        [log], time_field="when", duration_field="http.elapsed_us", layer_fields=["timings.sql_ms"]
    )
    assert only.layers == {"timings.sql": 0.004}


def test_json_lines_layers_can_be_named(tmp_path):
    requests = list(TrafficLog([FIXTURES / "app.jsonl"], layer_fields=["db_ms"]))
    assert set().union(*(r.layers for r in requests)) == {"db"}


def test_json_lines_units_and_times(tmp_path):
    log = write(
        tmp_path / "app.jsonl",
        '{"timestamp": "2026-10-10T12:00:00+02:00", "latency": 12.5, "uri": "/a"}',
        '{"timestamp": "2026-10-10 12:00:00.5", "latency": "7.5ms", "uri": "/b"}',
        '{"timestamp": 1791633600, "latency": 2, "uri": "/c", "upstream_response_time": "0.5"}',
        '{"timestamp": "2026-10-10T12:00:00Z", "latency": 1, "uri": "/d", "method": "DELETE"}',
        '{"timestamp": "2026-10-10T12:00:00Z", "latency": 1, "uri": "/e", '
        '"start_time": 1791633600}',
    )
    seconds = list(TrafficLog([log]))
    assert [(r.time, r.duration, r.path) for r in seconds] == [
        (utc(2026, 10, 10, 10, 0, 0), 12.5, "/a"),
        (utc(2026, 10, 10, 12, 0, 0) + 0.5, 0.0075, "/b"),  # no offset: UTC
        (1791633600.0, 2.0, "/c"),
        (utc(2026, 10, 10, 12, 0, 0), 1.0, "/d"),
        (utc(2026, 10, 10, 12, 0, 0), 1.0, "/e"),
    ]
    assert seconds[2].layers == {"upstream": 0.5}
    assert seconds[3].method == "DELETE" and seconds[0].method == "GET"
    assert seconds[4].layers == {}  # an epoch named *_time is no layer
    milliseconds = list(TrafficLog([log], duration_unit="ms"))
    assert [r.duration for r in milliseconds] == [0.0125, 0.0075, 0.002, 0.001, 0.001]


def test_json_lines_request_line_gives_method_and_path(tmp_path):
    log = write(
        tmp_path / "app.jsonl",
        '{"ts": "2026-10-10T12:00:00Z", "took_ms": 3, "request": "DELETE /d/?x=1 HTTP/1.1"}',
        '{"ts": "2026-10-10T12:00:01Z", "took_ms": 4, "event": "cache warmed"}',
    )
    traffic = TrafficLog([log])
    assert [(r.method, r.path, r.duration) for r in traffic] == [("DELETE", "/d/", 0.003)]
    assert [p.reason for p in traffic.problems] == ['no "request"']


def test_a_pipe_is_read_once(tmp_path):
    read, written = os.pipe()
    with os.fdopen(written, "w") as stream:
        stream.write("".join(f"{NGINX} 0.0{n}0 -\n" for n in range(1, 4)))
    try:
        log = TrafficLog([Path(f"/dev/fd/{read}")])
        assert [r.duration for r in log] == [0.01, 0.02, 0.03]
        assert log.bytes_total == 0
        with pytest.raises(SourceError, match="read once"):
            list(log)
    finally:
        os.close(read)


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (None, {}, "does not exist"),
        ("", {}, "is empty"),
        ("\n  \n", {}, "is empty"),
        ("hello\nworld\n", {}, "is not an access log with response times"),
        (
            f"{NGINX}\n",
            {},
            "no line has a response time; add $request_time (nginx), %D (Apache) or %(L)s "
            "(gunicorn) at the end of the log format (see --format).",
        ),
        (
            f"{NGINX}\n",
            {"format": "nginx"},
            "no line has a response time; nginx logs need $request_time at the end of the line "
            "(see --format).",
        ),
        (f"{NGINX}\n", {"format": "apache"}, "Apache logs need %D at the end of the LogFormat"),
        (f"{NGINX}\n", {"format": "gunicorn"}, "need %(L)s, %(D)s or %(M)s"),
        (f"{NGINX} 0.010 -\n", {"format": "jsonl"}, "no line is a JSON object"),
        ('{"time": 1}\n', {"format": "nginx"}, "no line is in the combined or common format"),
        (f"{NGINX} 0.010 -\n", {"time_field": "t"}, "holds nginx lines; --time-field is for JSON"),
        ('{"path": "/", "duration": 1}\n', {}, "no line has a time field (time, timestamp,"),
        ('{"time": 1, "path": "/"}\n', {}, "no line has a response time field (duration,"),
        (
            '{"time": 1, "path": "/", "took": 2}\n',
            {"duration_field": "nope"},
            "no line has a response time in the field 'nope'; its lines have path, time, took.",
        ),
        ('{"time": 1, "duration": 2}\n', {}, "no line has a path field (path, uri,"),
        ('{"time": 1, "duration": 2, "path": 3}\n', {}, "no line has a path field"),
        (
            '{"time": 1, "duration": 2, "path": "/a\\u0001b?token=x"}\n',
            {},
            "no line is a request with a time and a response time (the first: a control "
            "character (0x01) in the path).",
        ),
    ],
)
def test_a_log_that_cannot_be_read_is_a_one_line_error_naming_it(
    tmp_path, content, options, message
):
    path = tmp_path / "access.log"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SourceError) as error:
        TrafficLog([path], **options)
    assert message in one_line_error(error, path)
    assert "token" not in str(error.value)


def test_options_out_of_their_sets_are_errors(tmp_path):
    with pytest.raises(SourceError) as error:
        TrafficLog([FIXTURES / "nginx.log"], format="caddy")
    assert one_line_error(error) == (
        "Unknown format 'caddy'; choose from auto, " + ", ".join(TRAFFIC_FORMATS) + "."
    )
    with pytest.raises(SourceError) as error:
        TrafficLog([FIXTURES / "nginx.log"], duration_unit="min")
    assert one_line_error(error) == "Unknown duration unit 'min'; choose from s, ms, us."
    with pytest.raises(SourceError, match="No log file given"):
        TrafficLog([])


def test_a_directory_and_broken_gzip_are_errors_naming_them(tmp_path):
    with pytest.raises(SourceError) as error:
        TrafficLog([FIXTURES / "nginx.log", tmp_path])
    assert "is a directory" in one_line_error(error, tmp_path)
    broken = tmp_path / "access.log.2.gz"
    broken.write_bytes(b"\x1f\x8b" + b"not gzip at all" * 10)
    with pytest.raises(SourceError) as error:
        TrafficLog([broken])
    assert "broken gzip data" in one_line_error(error, broken)


def test_a_gzip_file_cut_off_keeps_what_came_before(tmp_path):
    data = gzip.compress((FIXTURES / "nginx.log").read_bytes(), mtime=0)
    cut = tmp_path / "access.log.2.gz"
    cut.write_bytes(data[: len(data) // 2])
    log = TrafficLog([cut])
    requests = list(log)
    assert 0 < len(requests) < REQUESTS
    assert log.problems[-1].reason == "the compressed file ends early (cut off)"


def test_the_fast_constructor_makes_the_same_request():
    assert tuple(field.name for field in dataclasses.fields(TimedRequest)) == timed.FIELDS
    values = (1.5, "GET", "/", 200, 0.25, {"db": 0.1}, 3)
    made = timed.timed_request(*values)
    assert made == TimedRequest(*values) and type(made) is TimedRequest
    with pytest.raises(AttributeError):
        made.path = "/x"  # type: ignore[misc]


GARBAGE = st.lists(
    st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=80),
    max_size=30,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=GARBAGE, format=st.sampled_from(["auto", "nginx", "jsonl"]))
def test_garbage_lines_are_counted_never_raised(tmp_path_factory, garbage, format):
    valid = f"{NGINX} 0.010 -" if format != "jsonl" else '{"time": 1, "duration": 2, "path": "/"}'
    lines = [valid]
    for text in garbage:
        lines += [text, valid]
    path = tmp_path_factory.mktemp("garbage") / "traffic.log"
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    log = TrafficLog([path], format=format)
    requests = list(log)
    blank = sum(1 for text in garbage if f"{text}\n".isspace())
    assert len(requests) == log.requests == len(garbage) + 1
    assert log.skipped == len(garbage) - blank
    assert log.lines_read == len(lines)


@settings(deadline=None)
@given(data=st.binary(max_size=400))
def test_random_bytes_after_a_request_never_raise(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "traffic.log"
    path.write_bytes(f"{NGINX} 0.010 -\n".encode() + data)
    log = TrafficLog([path])
    requests = list(log)
    assert len(requests) >= 1 and log.requests == len(requests)
    assert log.skipped <= log.lines_read
