"""Recorded traffic as requests: nginx/Apache access logs, HAR files and JSON lines.

Line formats are read one line at a time (a log of any length takes constant memory), and
rotated logs compressed with gzip are read as they are. A HAR file is one JSON document, so it
is loaded whole. Lines that are not requests are counted, and the first few kept, never fatal.

Recorded cookies, Host and hop-by-hop headers are dropped: the replay logs in its own user and
sends its own Host, and recorded cookies are someone's session.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

FORMATS = ("combined", "har", "jsonl")
MAX_PROBLEMS = 5
DETECT_LINES = 20
DETECT_BYTES = 64 * 1024
DROPPED_HEADERS = frozenset(
    {"cookie", "host", "content-length", "connection", "transfer-encoding", "keep-alive", "upgrade"}
)
METHOD = re.compile(r"^[A-Za-z]{1,20}$")
# host ident user [time] "request" status size ["referer" "user agent"]
COMBINED = re.compile(
    r'^(?P<host>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]*)\] "(?P<request>(?:[^"\\]|\\.)*)" '
    r"(?P<status>\d{3}|-) (?P<size>\d+|-)"
    r'(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?'
)


class SourceError(ValueError):
    """The file cannot be read as recorded traffic at all."""


@dataclass(frozen=True)
class ReplayRequest:
    method: str  # upper case
    path: str  # path plus "?query" when there is one, as recorded
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    user: str | None = None  # only from JSON lines
    line: int = 0  # 1-based line number (HAR: entry number)


@dataclass(frozen=True)
class Problem:
    line: int
    text: str
    reason: str


class Skip(Exception):
    """A line that is not a request, with the reason."""


class RequestSource:
    """The requests of one file; counts the lines that were not requests as it reads."""

    def __init__(self, path: Path, format: str) -> None:
        self.path = path
        self.format = format
        self.problem_count = 0
        self.problems: list[Problem] = []

    def __iter__(self) -> Iterator[ReplayRequest]:
        self.problem_count = 0
        self.problems = []
        if self.format == "har":
            yield from self._har()
            return
        parse = _combined_line if self.format == "combined" else _json_line
        with _open_text(self.path) as handle:
            for number, raw in enumerate(handle, start=1):
                text = raw.rstrip("\r\n")
                if not text.strip():
                    continue
                try:
                    yield parse(text, number)
                except Skip as skip:
                    self._problem(number, text, str(skip))

    def _har(self) -> Iterator[ReplayRequest]:
        try:
            with _open_text(self.path) as handle:
                document = json.load(handle)
            entries = document["log"]["entries"]
            if not isinstance(entries, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise SourceError(
                f"{self.path} is not a HAR file (no log.entries list in a JSON document)."
            ) from None
        for number, entry in enumerate(entries, start=1):
            try:
                yield _har_entry(entry, number)
            except Skip as skip:
                self._problem(number, json.dumps(entry)[:200], str(skip))

    def _problem(self, line: int, text: str, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            shortened = text if len(text) <= 120 else text[:117] + "..."
            self.problems.append(Problem(line, shortened, reason))


def open_source(path: Path, format: str | None = None) -> RequestSource:
    """The requests of ``path``, in ``format`` or the one its content shows."""
    path = Path(path)
    if format is not None and format not in FORMATS:
        raise SourceError(f"Unknown format {format!r}; choose from {', '.join(FORMATS)}.")
    if path.is_dir():
        raise SourceError(f"{path} is a directory, not a log file.")
    if not path.exists():
        raise SourceError(f"{path} does not exist.")
    return RequestSource(path, format or detect_format(path))


def detect_format(path: Path) -> str:
    """Guess the format from the start of the file (not its name)."""
    try:
        with _open_text(path) as handle:
            head = handle.read(DETECT_BYTES)
    except OSError as exc:
        raise SourceError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    text = head.lstrip()
    if not text:
        raise SourceError(f"{path} is empty: there are no requests to replay.")
    if text.startswith("{"):
        if re.match(r'\{\s*"log"\s*:', text):
            return "har"
        first = text.split("\n", 1)[0]
        try:
            if isinstance(json.loads(first), dict):
                return "jsonl"
        except ValueError:
            pass
    lines = [line for line in text.splitlines() if line.strip()][:DETECT_LINES]
    if any(COMBINED.match(line) for line in lines):
        return "combined"
    raise SourceError(
        f"{path} is not an access log (combined or common format), a HAR file or JSON lines; "
        f"if it is one of these, say which with --format {{{','.join(FORMATS)}}}."
    )


def _open_text(path: Path) -> IO[str]:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open("r", encoding="utf-8", errors="replace")


def _combined_line(text: str, number: int) -> ReplayRequest:
    match = COMBINED.match(text)
    if match is None:
        raise Skip("not a combined or common log line")
    request = match["request"].replace('\\"', '"')
    if request in ("-", ""):
        raise Skip('no request line ("-")')
    parts = request.split(" ")
    if len(parts) not in (2, 3) or (len(parts) == 3 and not parts[2].startswith("HTTP/")):
        raise Skip("not an HTTP request line")
    method = _method(parts[0])
    path = _path(parts[1])
    headers = {}
    for name, value in (("Referer", match["referer"]), ("User-Agent", match["agent"])):
        if value and value != "-":
            headers[name] = value.replace('\\"', '"')
    return ReplayRequest(method, path, headers, None, None, number)


def _json_line(text: str, number: int) -> ReplayRequest:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise Skip(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Skip(f"a JSON {type(data).__name__}, not an object")
    path = data.get("path")
    if not isinstance(path, str):
        raise Skip('no "path" string')
    method = _method(data.get("method", "GET"))
    headers_in = data.get("headers") or {}
    if not isinstance(headers_in, dict):
        raise Skip('"headers" is not an object')
    headers = _kept_headers((str(k), str(v)) for k, v in headers_in.items())
    body = data.get("body")
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    user = data.get("user")
    if user is not None and not isinstance(user, (str, int)):
        raise Skip('"user" is neither a string nor a number')
    return ReplayRequest(
        method, _path(path), headers, body, None if user is None else str(user), number
    )


def _har_entry(entry: Any, number: int) -> ReplayRequest:
    request = entry.get("request") if isinstance(entry, dict) else None
    if not isinstance(request, dict):
        raise Skip("entry without a request object")
    url, method = request.get("url"), request.get("method")
    if not isinstance(url, str) or not url:
        raise Skip("request without a url")
    if not isinstance(method, str):
        raise Skip("request without a method")
    if urlsplit(url).scheme not in ("http", "https"):
        raise Skip(f"not an HTTP URL: {url[:60]}")
    pairs = [
        (str(h.get("name", "")), str(h.get("value", "")))
        for h in request.get("headers") or []
        if isinstance(h, dict)
    ]
    post = request.get("postData")
    body = post.get("text") if isinstance(post, dict) else None
    headers = _kept_headers(pairs)
    has_type = any(name.lower() == "content-type" for name in headers)
    if isinstance(post, dict) and post.get("mimeType") and not has_type:
        headers["Content-Type"] = str(post["mimeType"])
    return ReplayRequest(_method(method), _path(url), headers, body, None, number)


def _method(value: Any) -> str:
    if not isinstance(value, str) or not METHOD.match(value):
        raise Skip(f"invalid method {str(value)[:20]!r}")
    return value.upper()


def _path(target: str) -> str:
    """Path and query of an origin-form (``/a?b``) or absolute-form (``http://h/a?b``) target."""
    if target.startswith("/"):
        return target
    parts = urlsplit(target)
    if parts.scheme in ("http", "https") and parts.netloc:
        path = parts.path or "/"
        return f"{path}?{parts.query}" if parts.query else path
    raise Skip(f"not a path: {target[:60]!r}")


def _kept_headers(pairs: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in pairs:
        if not name or name.startswith(":") or name.lower() in DROPPED_HEADERS:
            continue
        headers[name] = value
    return headers
