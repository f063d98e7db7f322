"""Reading recorded traffic: access logs, HAR and JSON lines, with their broken lines.

The fixtures were written to be realistic (mixed formats, IPv6 clients, absolute-form targets,
quoted user agents, TLS handshakes on a plain port, truncated lines); the counts below are the
lines each was written with, and are checked against the number of lines in the file.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tracemalloc
from pathlib import Path

import pytest

from django_profilecmds.replay import sources
from django_profilecmds.replay.sources import (
    FORMATS,
    MAX_LINE,
    MAX_PROBLEMS,
    Problem,
    ReplayRequest,
    SourceError,
    detect_format,
    open_source,
)

FIXTURES = Path(__file__).parent / "fixtures" / "replay"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
T = "[20/Nov/2026:08:00:00 +0000]"

# file: (format, requests, problems, blank lines, line numbers of the first five problems)
EXPECTED = {
    # 238 lines: 227 requests, 10 broken (the last one cut off without a newline), 1 blank
    "access.log": ("combined", 227, 10, 1, [18, 42, 67, 91, 114]),
    # 210 lines: 204 requests, 6 broken
    "common.log": ("combined", 204, 6, 0, [10, 59, 102, 151, 189]),
    # 214 entries: 208 requests; data:, chrome-extension: and wss: URLs, no url, no method, and
    # a request that is a string
    "session.har": ("har", 208, 6, 0, [13, 41, 78, 121, 161]),
    # 220 lines: 207 requests, 9 broken, 4 blank
    "requests.jsonl": ("jsonl", 207, 9, 4, [8, 31, 57, 82, 104]),
}


def records(name: str) -> int:
    """Lines (entries for HAR) in a fixture, counted without the code under test."""
    path = FIXTURES / name
    if name.endswith(".har"):
        return len(json.loads(path.read_text())["log"]["entries"])
    return len(path.read_bytes().rstrip(b"\n").split(b"\n"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_counts(name):
    fmt, requests, problems, blank, first_problems = EXPECTED[name]
    assert requests + problems + blank == records(name)
    source = open_source(FIXTURES / name)
    parsed = list(source)
    assert (source.format, len(parsed), source.problem_count) == (fmt, requests, problems)
    assert [problem.line for problem in source.problems] == first_problems
    assert len(source.problems) == MAX_PROBLEMS
    assert all(isinstance(p, Problem) and 0 < len(p.text) <= 120 for p in source.problems)
    assert all(request.method.isupper() and request.path.startswith("/") for request in parsed)
    numbers = [request.line for request in parsed]
    assert numbers == sorted(set(numbers)) and not set(numbers) & set(first_problems)
    dropped = {"cookie", "host", "content-length", "connection"}
    assert not any(
        name.lower() in dropped or name.startswith(":")
        for request in parsed
        for name in request.headers
    )


def test_iterating_again_counts_afresh():
    source = open_source(FIXTURES / "common.log")
    assert sum(1 for _ in source) == sum(1 for _ in source) == 204
    assert source.problem_count == 6 and len(source.problems) == 5


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_format_is_detected_from_content_not_name(tmp_path, name):
    copy = tmp_path / "traffic.txt"
    shutil.copy(FIXTURES / name, copy)
    assert detect_format(copy) == EXPECTED[name][0]
    assert open_source(copy).format == EXPECTED[name][0]


def test_first_requests_of_each_fixture():
    access = list(open_source(FIXTURES / "access.log"))
    headers = {"Referer": "https://books.example.com/", "User-Agent": CHROME}
    # The log's auth user ("alice") is an HTTP user name, not one to log in as: user is None.
    assert access[0] == ReplayRequest("GET", "/books/cbv/", headers, None, None, 1)
    assert access[1].headers == {
        "User-Agent": 'Mozilla/5.0 (compatible; "Quoted" Bot/2.1; +http://example.com/bot)'
    }
    assert access[4] == ReplayRequest("GET", "/async/", {}, None, None, 5)  # common format, IPv6
    assert access[5].path == "/explode/"  # "GET http://books.example.com/explode/ HTTP/1.1"
    common = list(open_source(FIXTURES / "common.log"))[0]
    assert common == ReplayRequest("POST", "/books/create/", {}, None, None, 1)
    har = list(open_source(FIXTURES / "session.har"))[0]
    headers = {  # no ":authority", ":path", "cookie"
        "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "accept-language": "en-GB,en;q=0.9",
        "user-agent": CHROME,
    }
    assert har == ReplayRequest("GET", "/private/", headers, None, None, 1)
    jsonl = list(open_source(FIXTURES / "requests.jsonl"))[0]
    headers = {"Accept-Language": "de-DE", "X-Request-Id": "req-0000"}  # no "Cookie"
    assert jsonl == ReplayRequest(
        "GET", "/echo/?q=caf%C3%A9&lang=fr", headers, None, "ada@example.com", 1
    )


def test_last_lines_of_the_access_log():
    by_line = {request.line: request for request in open_source(FIXTURES / "access.log")}
    assert (by_line[233].method, by_line[233].path, by_line[233].headers) == ("GET", "/books/", {})
    assert (by_line[234].method, by_line[234].path) == ("HEAD", "/books/?page=3")  # size "-"
    assert by_line[236].path == "/books/17/"  # status "-"
    assert by_line[237].path == '/echo/?q="quoted"&x=%3Cscript%3E'
    assert by_line[237].headers["User-Agent"] == 'sqlmap/1.8 (https://sqlmap.org) \\ "scanner"'
    assert 235 not in by_line and 238 not in by_line  # "PRI * HTTP/2.0", a line cut off


def test_each_kind_of_broken_log_line_says_why(tmp_path):
    lines = [
        f'203.0.113.7 - alice {T} "GET /books/?page=2 HTTP/1.1" 200 2326 "https://e.com/" "UA"',
        f'198.51.100.23 - - {T} "-" 400 0 "-" "-"',
        f'203.0.113.6 - - {T} "\\x16\\x03\\x01\\x00\\xA5\\x01" 400 157 "-" "-"',
        "garbage",
        f'203.0.113.8 - - {T} "G@T /books/ HTTP/1.1" 400 0',
        f'203.0.113.8 - - {T} "GET http://h.example/a/?b=1 HTTP/1.1" 200 -',
        f'2001:db8::1 - - {T} "HEAD /books/" - -',
        f'203.0.113.9 - - {T} "GET /books/ HTTP/1.1" 200 512 "https://e.com/" "Mozilla/5.0 (Wi',
        f'203.0.113.9 - - {T} "GET /books/ HTTP/1.1" 200',
        f'203.0.113.9 - - {T} "PRI * HTTP/2.0" 400 157 "-" "-"',
        f'203.0.113.9 - - {T} "GET /a b HTTP/1.1" 400 0',
        f'203.0.113.9 - - {T} "" 400 0',
        f'203.0.113.9 - - {T} "get /echo/ HTTP/1.1" 200 9 "-" "-" "10.0.0.1" rt=0.004',
    ]
    log = tmp_path / "access.log"
    log.write_text("\n".join(lines) + "\n")
    source = open_source(log)
    parsed = list(source)
    assert [(r.line, r.method, r.path) for r in parsed] == [
        (1, "GET", "/books/?page=2"),
        (6, "GET", "/a/?b=1"),
        (7, "HEAD", "/books/"),
        (13, "GET", "/echo/"),
    ]
    assert parsed[0].headers == {"Referer": "https://e.com/", "User-Agent": "UA"}
    assert parsed[0].user is None
    assert source.problem_count == 9
    assert [(p.line, p.reason) for p in source.problems] == [
        (2, 'no request line ("-")'),
        (3, "a TLS handshake sent to a plain HTTP port"),
        (4, "not a combined or common log line"),
        (5, "invalid method 'G@T'"),
        (8, "not a combined or common log line"),  # cut off inside the user agent
    ]
    assert source.problems[1].text == lines[2]
    log.write_text("\n".join(lines[8:12]))
    source = open_source(log)
    assert list(source) == []
    assert [p.reason for p in source.problems] == [
        "not a combined or common log line",
        "path neither starts with '/' nor is an http(s) URL: '*'",
        "not an HTTP request line",
        'no request line ("-")',
    ]


def test_long_problem_lines_are_shortened(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(f'203.0.113.7 - - {T} "GET /books/ HTTP/1.1" 200 5\n' + "x" * 500 + "\n")
    source = open_source(log)
    assert len(list(source)) == 1
    assert source.problems == [Problem(2, "x" * 117 + "...", "not a combined or common log line")]


def test_a_line_longer_than_the_limit_is_skipped_not_held(tmp_path):
    line = '203.0.113.7 - - {} "GET /books/{} HTTP/1.1" 200 5\n'
    log = tmp_path / "access.log"
    log.write_text(
        line.format(T, 1) + line.format(T, "?" + "q" * (3 * MAX_LINE)) + line.format(T, 3)
    )
    source = open_source(log)
    assert [(r.line, r.path) for r in source] == [(1, "/books/1"), (3, "/books/3")]
    assert [(p.line, p.reason) for p in source.problems] == [
        (2, f"line longer than {MAX_LINE:,} characters")
    ]


def test_har_reduces_urls_and_drops_cookies_and_pseudo_headers():
    source = open_source(FIXTURES / "session.har")
    parsed = list(source)
    names = {name.lower() for request in parsed for name in request.headers}
    assert not names & {"cookie", "host", ":authority", ":path", ":method", ":scheme"}
    assert {"accept-language", "user-agent"} <= names
    assert all(not request.path.startswith("http") and request.user is None for request in parsed)
    posts = [request for request in parsed if request.method == "POST"]
    assert len(posts) == 7
    assert posts[0].line == 11 and json.loads(posts[0].body or "") == {
        "title": "Recorded 10",
        "author": "Anon",
    }
    assert all(post.headers["content-type"] == "application/json" for post in posts)
    assert [problem.reason for problem in source.problems] == [
        "not an HTTP URL: data:image/png;base64,iVBORw0KGgo=",
        "request without a url",
        "request without a method",
        "not an HTTP URL: chrome-extension://abcdef/content.js",
        "entry without a request object",
    ]
    assert source.problems[1].text == '{"method":"GET","headers":[]}'


def test_har_entries_in_detail(tmp_path):
    entries = [
        {
            "request": {
                "method": "post",
                "url": "http://shop.example.com/books/create/?next=%2Fbooks%2F#form",
                "headers": [
                    {"name": ":authority", "value": "shop.example.com"},
                    {"name": "Cookie", "value": "sessionid=secret"},
                    {"name": "Content-Length", "value": "21"},
                    {"name": "X-Custom", "value": "1"},
                ],
                "postData": {
                    "mimeType": "application/x-www-form-urlencoded",
                    "params": [{"name": "title", "value": "A & B"}],
                },
            }
        },
        {"request": {"method": "GET", "url": "https://shop.example.com"}},
        {"request": {"method": "G E T", "url": "https://shop.example.com/"}},
        ["not", "an", "entry"],
    ]
    har = tmp_path / "x.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    source = open_source(har)
    first, second = list(source)
    assert first == ReplayRequest(
        "POST",
        "/books/create/?next=%2Fbooks%2F",
        {"X-Custom": "1", "Content-Type": "application/x-www-form-urlencoded"},
        "title=A+%26+B",
        None,
        1,
    )
    assert (second.path, second.headers, second.body) == ("/", {}, None)
    assert [(p.line, p.reason) for p in source.problems] == [
        (3, "invalid method 'G E T'"),
        (4, "entry without a request object"),
    ]


SECRET = "s3cret-token-value"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"headers": 5}, '"headers" is a number, not an array'),
        ({"headers": True}, '"headers" is a boolean, not an array'),
        ({"headers": {"Authorization": SECRET}}, '"headers" is an object, not an array'),
        (
            {"headers": [{"name": "Authorization", "value": SECRET}, 7]},
            '"headers" item 2 is a number, not an object',
        ),
        (
            {"headers": [{"name": "X-Token", "value": {"v": SECRET}}]},
            '"headers" item 1 has a "value" that is an object, not a string',
        ),
        (
            {"headers": [{"name": 3, "value": SECRET}]},
            '"headers" item 1 has a "name" that is a number, not a string',
        ),
        ({"queryString": 1.5}, '"queryString" is a number, not an array'),
        ({"queryString": [SECRET]}, '"queryString" item 1 is a string, not an object'),
        ({"cookies": False}, '"cookies" is a boolean, not an array'),
        (
            {"cookies": [{"name": "sessionid", "value": None}]},
            '"cookies" item 1 has a "value" that is null, not a string',
        ),
        ({"postData": 0}, '"postData" is a number, not an object'),
        ({"postData": SECRET}, '"postData" is a string, not an object'),
        ({"postData": {"text": 12}}, '"postData.text" is a number, not a string'),
        (
            {"postData": {"mimeType": ["x"], "text": SECRET}},
            '"postData.mimeType" is an array, not a string',
        ),
        (
            {"postData": {"params": {"password": SECRET}}},
            '"postData.params" is an object, not an array',
        ),
    ],
)
def test_har_entries_with_fields_of_the_wrong_type_are_skipped(tmp_path, fields, reason):
    good = {"request": {"method": "GET", "url": "https://h.example/books/"}}
    bad = {"request": {"method": "GET", "url": "https://h.example/echo/", **fields}}
    har = tmp_path / "x.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [good, bad, good]}}))
    source = open_source(har)
    assert [request.line for request in source] == [1, 3]
    assert source.problem_count == 1
    assert [(p.line, p.reason) for p in source.problems] == [(2, reason)]
    assert SECRET not in source.problems[0].reason


def test_json_lines_users_bodies_and_headers(tmp_path):
    path = tmp_path / "r.jsonl"
    rows = [
        {"path": "/echo/", "user": 7},
        {"method": "post", "path": "/books/create/", "body": {"title": "T"}},
        {
            "method": "PUT",
            "path": "https://h.example/echo/?x=1#top",
            "body": "raw",
            "headers": {"Cookie": "s", "HOST": "h.example", "X-Trace": 3},
        },
        {"path": "/echo/", "body": [1, 2], "headers": {"content-type": "application/vnd.x+json"}},
    ]
    path.write_text("\n\n" + "\n".join(json.dumps(row) for row in rows) + "\n\n  \n")
    source = open_source(path)
    first, second, third, fourth = list(source)
    assert (first.method, first.user, first.body, first.line) == ("GET", "7", None, 3)
    assert (second.method, second.body) == ("POST", '{"title": "T"}')
    assert second.headers == {"Content-Type": "application/json"}
    assert (third.path, third.body, third.headers) == ("/echo/?x=1", "raw", {"X-Trace": "3"})
    assert (fourth.body, fourth.headers) == ("[1, 2]", {"content-type": "application/vnd.x+json"})
    assert source.problem_count == 0  # blank lines are not problems


def test_each_kind_of_broken_json_line_says_why(tmp_path):
    lines = [
        '{"method": "GET", "path": "/books/"',
        '["GET", "/books/"]',
        '"GET /books/"',
        '{"method": "GET"}',
        '{"path": "books/"}',
        '{"method": "GE T", "path": "/books/"}',
        '{"path": 3}',
        '{"path": "/echo/", "headers": ["X-A: 1"]}',
        '{"path": "/echo/", "user": true}',
        '{"path": "/echo/", "body": 12}',
        '{"path": "ftp://h.example/books/"}',
    ]
    path = tmp_path / "r.jsonl"
    path.write_text('{"path": "/books/"}\n' + "\n".join(lines) + "\n")
    source = open_source(path)
    assert [request.line for request in source] == [1]
    assert source.problem_count == len(lines)
    reasons = [p.reason for p in source.problems]
    assert reasons == [
        "invalid JSON: Expecting ',' delimiter: line 1 column 36 (char 35)",
        "an array, not a JSON object",
        "a string, not a JSON object",
        'no "path"',
        "path neither starts with '/' nor is an http(s) URL: 'books/'",
    ]
    # The rest, past the five that are kept:
    path.write_text("\n".join(lines[5:]) + "\n")
    source = open_source(path, "jsonl")
    assert list(source) == []
    assert [p.reason for p in source.problems] == [
        "invalid method 'GE T'",
        '"path" is a number, not a string',
        '"headers" is an array, not an object',
        '"user" is a boolean, not a string or an integer',
        '"body" is a number, not a string, object or array',
    ]


def test_control_characters_in_paths_users_and_headers_skip_the_line(tmp_path):
    rows = [
        {"path": "/echo/", "user": "ada\u0000@example.com"},
        {"path": "/echo/\u0000"},
        {"path": "/echo/?q=\u001b[2J"},
        {"path": "/echo/", "headers": {"X-Note": "a\r\nSet-Cookie: x=1"}},
        {"path": "/echo/", "headers": {"X-\u001bNote": "1"}},
        {"path": "/echo/", "user": "\u009b31m"},
        {
            "path": "/echo/",
            "headers": {"X-Note": "tab\tseparated"},
            "body": "NUL \u0000 is the view's",
        },
    ]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    source = open_source(path)
    [kept] = list(source)
    assert (kept.line, kept.headers, kept.body) == (
        7,
        {"X-Note": "tab\tseparated"},
        "NUL \x00 is the view's",
    )
    assert source.problem_count == 6
    assert [(p.line, p.reason) for p in source.problems] == [
        (1, 'a control character (0x00) in "user"'),
        (2, "a control character (0x00) in the path"),
        (3, "a control character (0x1b) in the path"),
        (4, "a control character (0x0d) in the value of header 'X-Note'"),
        (5, "a control character (0x1b) in a header name"),
    ]
    log = tmp_path / "access.log"
    log.write_bytes(
        f'::1 - - {T} "GET /echo/\x00 HTTP/1.1" 200 5 "-" "curl"\n'.encode()
        + f'::1 - - {T} "GET /echo/ HTTP/1.1" 200 5 "-" "evil\x1b]0;owned\x07"\n'.encode()
        + f'::1 - - {T} "GET /echo/ HTTP/1.1" 200 5 "-" "curl"\n'.encode()
    )
    source = open_source(log)
    assert [request.line for request in source] == [3]
    assert [p.reason for p in source.problems] == [
        "a control character (0x00) in the path",
        "a control character (0x1b) in the value of header 'User-Agent'",
    ]
    entries = [
        {"request": {"method": "GET", "url": "https://h.example/echo/%00\u0000"}},
        {
            "request": {
                "method": "GET",
                "url": "https://h.example/echo/",
                "headers": [{"name": "Referer", "value": "\u0007"}],
            }
        },
    ]
    har = tmp_path / "x.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    source = open_source(har)
    assert list(source) == []
    assert [p.reason for p in source.problems] == [
        "a control character (0x00) in the path",
        "a control character (0x07) in the value of header 'Referer'",
    ]


def test_json_nested_too_deeply_is_a_reason_not_a_recursion_error(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"path": "/books/"}\n' + "[" * 50_000 + "\n" + '{"a":' * 10_000 + "\n")
    source = open_source(path)
    assert [request.line for request in source] == [1]
    assert [p.reason for p in source.problems] == ["invalid JSON: nested too deeply"] * 2
    path.write_text('{"a":' * 10_000 + "\n" + '{"path": "/books/"}\n')
    assert detect_format(path) == "jsonl"
    har = tmp_path / "deep.har"
    har.write_text('{"log": {"version": "1.2", "entries": [' + "[" * 50_000)
    with pytest.raises(SourceError, match="its JSON is nested too deeply"):
        open_source(har)


def test_a_pipe_is_read_once_from_its_first_byte(tmp_path):
    import os
    import threading

    data = (FIXTURES / "common.log").read_bytes()
    read_end, write_end = os.pipe()

    def feed() -> None:
        with open(write_end, "wb") as pipe:
            pipe.write(data)

    threading.Thread(target=feed, daemon=True).start()
    try:
        source = open_source(Path(f"/dev/fd/{read_end}"))
        assert not source.rereadable
        assert (source.format, len(list(source)), source.problem_count) == ("combined", 204, 6)
        assert not source.rereadable
        with pytest.raises(SourceError, match="is a pipe or a device, which can be read only once"):
            list(source)
    finally:
        os.close(read_end)
    assert open_source(FIXTURES / "common.log").rereadable


def test_rotated_gzip_logs_are_read_as_they_are(tmp_path):
    packed = tmp_path / "access.log.1.gz"
    with gzip.open(packed, "wb") as handle:
        handle.write((FIXTURES / "common.log").read_bytes())
    source = open_source(packed)
    assert (source.format, len(list(source)), source.problem_count) == ("combined", 204, 6)
    har = tmp_path / "session.har.gz"
    har.write_bytes(gzip.compress((FIXTURES / "session.har").read_bytes()))
    assert len(list(open_source(har))) == 208


def test_a_cut_off_gzip_log_keeps_the_lines_before_the_cut(tmp_path):
    packed = gzip.compress((FIXTURES / "common.log").read_bytes())
    cut = tmp_path / "access.log.2.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    source = open_source(cut)
    read = sum(1 for _ in source)
    assert 20 < read < 204
    assert source.problems[-1].reason == "the compressed file ends early (cut off)"
    cut.write_bytes(packed[:12])
    with pytest.raises(SourceError, match="broken gzip data"):
        open_source(cut)


def test_a_byte_order_mark_and_junk_bytes_are_not_fatal(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"path": "/echo/?q=\xff"}\n{"path": "/books/"}\n')
    assert [request.path for request in open_source(path)] == ["/echo/?q=\ufffd", "/books/"]


@pytest.mark.parametrize(
    ("content", "format"),
    [
        ('{"log": {"version": "1.2", "entries": []}}', "har"),  # one line
        ('{"_note": "x", "log": {"version": "1.2", "entries": []}}', "har"),
        ('\n\n{\n  "log": {\n    "version": "1.2",\n    "creator": {"name": "Firefox"}', "har"),
        ('{"path": "/books/"}\n', "jsonl"),
        ('{"path": "/books/", "log": "x"}\n', "jsonl"),
        ('{"path": "/bo\n{"path": "/books/"}\n', "jsonl"),  # the first line is broken
        ("garbage\n" * 5 + f'::1 - - {T} "GET / HTTP/1.1" 200 5\n', "combined"),
        (f'::1 - - {T} "GET / HTTP/1.1" 200 5 "-" "curl/8"\r\n', "combined"),
    ],
)
def test_detection(tmp_path, content, format):
    path = tmp_path / "traffic"
    path.write_text(content)
    assert detect_format(path) == format


def test_a_large_har_is_recognised_from_its_start(tmp_path):
    entry = {"request": {"method": "GET", "url": "https://h.example/books/", "headers": []}}
    har = tmp_path / "big.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry] * 3000}}))
    assert har.stat().st_size > 128 * 1024  # more than is read to detect
    assert detect_format(har) == "har"
    assert len(list(open_source(har))) == 3000


@pytest.mark.parametrize(
    ("content", "format", "message"),
    [
        (None, None, "does not exist"),
        ("", None, "is empty"),
        ("\n\n   \n", None, "is empty"),
        ("", "combined", "is empty"),
        ("hello\nworld\n", None, "is not an access log"),
        ("[1, 2]\n", None, r"say which with --format \{combined,har,jsonl\}"),
        ("GET /books/\n", "xml", "Unknown format 'xml'; choose from combined, har, jsonl"),
        ('{"log": {"entries": 3}}', None, "is not a HAR file"),
        ('{"log": {"version": "1.2", "entries": [', None, "invalid JSON at line 1"),
        (f'::1 - - {T} "GET / HTTP/1.1" 200 5\n', "har", "is not a HAR file"),
    ],
)
def test_unreadable_sources_are_clear_errors(tmp_path, content, format, message):
    path = tmp_path / "traffic.log"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SourceError, match=message):
        open_source(path, format)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), ("\n", "is empty"), ("<html>\n", "is not an access log")],
)
def test_detection_errors(tmp_path, content, message):
    path = tmp_path / "traffic.log"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SourceError, match=message):
        detect_format(path)


def test_a_directory_is_not_a_log(tmp_path):
    with pytest.raises(SourceError, match="is a directory"):
        open_source(tmp_path)
    assert issubclass(SourceError, ValueError) and FORMATS == ("combined", "har", "jsonl")


def test_broken_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "access.log.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"not deflate data at all")
    with pytest.raises(SourceError, match="Cannot read"):
        open_source(path)


def gzip_bomb(path: Path, start: bytes, filler: bytes, size: int, end: bytes = b"") -> Path:
    """A small gzip file that expands to ``size`` bytes and more."""
    with gzip.open(path, "wb", compresslevel=9) as handle:
        handle.write(start)
        chunk = filler * (1024 * 1024 // len(filler))
        for _ in range(size // len(chunk)):
            handle.write(chunk)
        handle.write(end)
    return path


def test_a_har_that_expands_past_the_cap_is_an_error_read_no_further(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_HAR", 2 * 1024 * 1024)
    start = b'{"log": {"version": "1.2", "entries": ['
    har = gzip_bomb(tmp_path / "bomb.har.gz", start, b" ", 48 * 1024 * 1024, b"]}}")
    assert har.stat().st_size < 256 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(SourceError) as raised:
            open_source(har)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(raised.value) == (
        f"{har} is larger than 2 MiB (uncompressed), the most read of a HAR file, which is one "
        "JSON document loaded whole: export fewer requests, or convert them to JSON lines, which "
        "are read one line at a time."
    )
    assert peak < 8 * 1024 * 1024
    small = gzip_bomb(tmp_path / "small.har.gz", start, b" ", 1024 * 1024, b"]}}")
    assert list(open_source(small)) == []  # under the cap: read


def test_a_log_that_expands_a_thousandfold_is_read_in_constant_memory(tmp_path):
    line = f'203.0.113.7 - - {T} "GET /books/ HTTP/1.1" 200 5\n'.encode()
    log = gzip_bomb(tmp_path / "bomb.log.gz", line, b"A", 48 * 1024 * 1024, b"\n" + line)
    assert log.stat().st_size < 256 * 1024
    tracemalloc.start()
    try:
        source = open_source(log)
        requests = [request.line for request in source]
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert requests == [1, 3]
    assert [p.reason for p in source.problems] == [f"line longer than {MAX_LINE:,} characters"]
    assert peak < 2 * 1024 * 1024


def test_long_logs_are_streamed_in_constant_memory(tmp_path):
    log = tmp_path / "big.log"
    line = f'203.0.113.7 - - {T} "GET /books/?page={{}} HTTP/1.1" 200 2326 "-" "curl/8.5.0"\n'
    with log.open("w") as handle:
        handle.writelines(line.format(index) for index in range(100_000))
    tracemalloc.start()
    try:
        count = sum(1 for _ in open_source(log))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert log.stat().st_size > 9 * 1024 * 1024
    assert peak < 2 * 1024 * 1024
