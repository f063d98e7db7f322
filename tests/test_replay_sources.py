"""Reading recorded traffic: access logs, HAR and JSON lines, with their broken lines.

The fixtures were written to be realistic (mixed formats, IPv6 clients, absolute-form targets,
quoted user agents, TLS handshakes on a plain port, truncated lines); the counts below are the
lines each was written with.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tracemalloc
from pathlib import Path

import pytest

from django_profilecmds.replay.sources import SourceError, detect_format, open_source

FIXTURES = Path(__file__).parent / "fixtures" / "replay"

# file: (format, requests, lines or entries that are not requests)
EXPECTED = {
    "access.log": ("combined", 223, 8),  # 232 lines, one blank
    "common.log": ("combined", 204, 6),
    "session.har": ("har", 208, 6),
    "requests.jsonl": ("jsonl", 204, 8),  # 216 lines, four blank
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_counts(name):
    fmt, requests, problems = EXPECTED[name]
    source = open_source(FIXTURES / name)
    parsed = list(source)
    assert (source.format, len(parsed), source.problem_count) == (fmt, requests, problems)
    assert len(source.problems) == 5  # the first five are kept, with their lines
    numbers = [problem.line for problem in source.problems]
    assert numbers == sorted(numbers) and all(len(p.text) <= 120 for p in source.problems)
    assert all(request.method.isupper() and request.path.startswith("/") for request in parsed)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_format_is_detected_from_content_not_name(tmp_path, name):
    copy = tmp_path / "traffic.txt"
    shutil.copy(FIXTURES / name, copy)
    assert detect_format(copy) == EXPECTED[name][0]


def test_combined_lines_keep_path_query_and_browser_headers():
    first, second = list(open_source(FIXTURES / "access.log"))[:2]
    assert (first.method, first.path, first.line) == ("GET", "/books/cbv/", 1)
    assert first.headers == {
        "Referer": "https://books.example.com/",
        "User-Agent": first.headers["User-Agent"],
    }
    assert first.user is None  # the log's auth user ("alice") is not a Django user
    assert second.headers["User-Agent"].startswith('Mozilla/5.0 (compatible; "Quoted" Bot')


def test_each_kind_of_broken_log_line_says_why(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(
        "\n".join(
            line.replace("{T}", "20/Nov/2026:08:00")
            for line in [
                '203.0.113.7 - - [{T}:00 +0000] "GET /books/ HTTP/1.1" 200 12',
                '198.51.100.23 - - [{T}:01 +0000] "-" 400 0 "-" "-"',
                '203.0.113.6 - - [{T}:02 +0000] "\\x16\\x03\\x01\\x00" 400 157 "-" "-"',
                "garbage",
                '203.0.113.8 - - [{T}:03 +0000] "G@T /books/ HTTP/1.1" 400 0',
                '203.0.113.8 - - [{T}:04 +0000] "GET http://h.example/a/?b=1 HTTP/1.1" 200 -',
                '2001:db8::1 - - [{T}:05 +0000] "HEAD /books/" 200 0',
            ]
        )
    )
    source = open_source(log)
    parsed = list(source)
    assert [(r.method, r.path) for r in parsed] == [
        ("GET", "/books/"),
        ("GET", "/a/?b=1"),
        ("HEAD", "/books/"),
    ]
    assert [problem.reason for problem in source.problems] == [
        'no request line ("-")',
        "not an HTTP request line",
        "not a combined or common log line",
        "invalid method 'G@T'",
    ]


def test_har_reduces_urls_and_drops_cookies_and_pseudo_headers():
    source = open_source(FIXTURES / "session.har")
    parsed = list(source)
    names = {name.lower() for request in parsed for name in request.headers}
    assert not names & {"cookie", "host", ":authority", ":path"}
    assert "accept-language" in names
    assert all(not request.path.startswith("http") for request in parsed)
    posts = [request for request in parsed if request.method == "POST"]
    assert posts and all(json.loads(post.body or "")["title"] for post in posts)
    reasons = {problem.reason.split(":")[0] for problem in source.problems}
    assert reasons == {
        "not an HTTP URL",
        "request without a url",
        "request without a method",
        "entry without a request object",
    }


def test_json_lines_users_bodies_and_headers(tmp_path):
    path = tmp_path / "r.jsonl"
    rows = [
        {"path": "/echo/", "user": 7},
        {"method": "post", "path": "/books/create/", "body": {"title": "T"}},
        {
            "method": "PUT",
            "path": "https://h.example/echo/?x=1",
            "body": "raw",
            "headers": {"Cookie": "s"},
        },
    ]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n\n")
    first, second, third = list(open_source(path))
    assert (first.method, first.user, first.body) == ("GET", "7", None)
    assert (second.method, second.body) == ("POST", '{"title": "T"}')
    assert second.headers == {"Content-Type": "application/json"}
    assert (third.path, third.body, third.headers) == ("/echo/?x=1", "raw", {})


def test_rotated_gzip_logs_are_read_as_they_are(tmp_path):
    packed = tmp_path / "access.log.1.gz"
    with gzip.open(packed, "wb") as handle:
        handle.write((FIXTURES / "common.log").read_bytes())
    source = open_source(packed)
    assert source.format == "combined" and len(list(source)) == 204


@pytest.mark.parametrize(
    ("content", "format", "message"),
    [
        (None, None, "does not exist"),
        ("", None, "is empty"),
        ("\n\n   \n", None, "is empty"),
        ("hello\nworld\n", None, "is not an access log"),
        ("GET /books/\n", "xml", "Unknown format 'xml'"),
        ('{"log": {"entries": 3}}', None, "is not a HAR file"),
    ],
)
def test_unreadable_sources_are_clear_errors(tmp_path, content, format, message):
    path = tmp_path / "traffic.log"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SourceError, match=message):
        list(open_source(path, format))


def test_a_directory_is_not_a_log(tmp_path):
    with pytest.raises(SourceError, match="is a directory"):
        open_source(tmp_path)


def test_long_logs_are_streamed_in_constant_memory(tmp_path):
    log = tmp_path / "big.log"
    line = '203.0.113.7 - - [20/Nov/2026:08:00:00 +0000] "GET /books/?page={} HTTP/1.1" 200 5\n'
    with log.open("w") as handle:
        for index in range(100_000):
            handle.write(line.format(index))
    tracemalloc.start()
    try:
        count = sum(1 for _ in open_source(log))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert peak < 2 * 1024 * 1024  # the file is 8 MB
