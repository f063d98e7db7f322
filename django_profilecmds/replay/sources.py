"""Recorded traffic as requests: nginx/Apache access logs, HAR files and JSON lines.

Access logs and JSON lines are read one line at a time, so a log of any length takes constant
memory (a line longer than ``MAX_LINE`` characters is skipped in pieces, as a problem). Rotated
logs compressed with gzip are read as they are. A HAR file is a single JSON document, so it is
loaded whole, once, when the source is opened. Lines or entries that are not requests are
counted, and the first ``MAX_PROBLEMS`` kept; they are never fatal. A pipe (``/dev/stdin``) is
read once, from its first byte: what detection looked at is given back (see ``peeking``).

Recorded cookies, Host, X-Forwarded-Host and hop-by-hop headers are dropped: the replay logs in
its own user and sends its own Host, and recorded cookies are someone's session.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode, urlsplit

from django_profilecmds.exceptions import ProfileCmdsError
from django_profilecmds.limits import MAX_HAR, InputTooLarge, read_limited
from django_profilecmds.replay.peeking import ENCODING, Peeked, peek

FORMATS = ("combined", "har", "jsonl")
MAX_PROBLEMS = 5
PROBLEM_TEXT = 120  # characters of an offending line kept for display
MAX_LINE = 64 * 1024  # characters; a longer line is not a request
DETECT_LINES = 20
DROPPED_HEADERS = frozenset(
    {
        "cookie",
        "host",
        "x-forwarded-host",  # with USE_X_FORWARDED_HOST, it would stand in for --host
        "content-length",
        "connection",
        "transfer-encoding",
        "keep-alive",
        "upgrade",
    }
)


def _combined(quoted: str) -> re.Pattern[str]:
    """client ident user [time] "request" status size ["referer" "user agent"], then the end of
    the line or more fields (a line cut off inside the referer or user agent does not match); a
    plain request line (method, target, optional HTTP version) is split by the expression."""
    return re.compile(
        r'\S+ \S+ \S+ \[[^\]]*\] (?:"([A-Za-z]{1,20}) ([^\s"\\]+)(?: HTTP/[^\s"\\]*)?"|'
        rf"{quoted}) (?:\d{{3}}|-) (?:\d+|-)"
        rf"(?: {quoted} {quoted}(?=\s|$)|(?=\s*$|\s+[^\s\"]))"
    )


COMBINED = _combined(r'"([^"\\]*(?:\\.[^"\\]*)*)"')  # quoted fields may hold \" and \\
COMBINED_PLAIN = _combined(r'"([^"\\]*)"')  # the same without escapes: faster, for most lines
BACKSLASH_ESCAPE = re.compile(r'\\(["\\])')
HAR_LOG = re.compile(r'"log"\s*:\s*\{')
HAR_KEY = re.compile(r'"(?:version|creator|pages|entries)"\s*:')
JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number"}
# Control characters have no place in a path, a user name or a header (a tab may separate the
# words of a header value): PostgreSQL refuses a NUL byte in any text, which would abort the
# replay, and an escape sequence would reach the terminal.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
HEADER_VALUE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


class SourceError(ProfileCmdsError, ValueError):
    """The file cannot be read as recorded traffic at all."""


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    method: str  # upper case
    path: str  # path plus "?query" when there is one, as recorded (percent-encoding kept)
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None  # HAR postData text, JSON lines body
    user: str | None = None  # only from JSON lines
    line: int = 0  # 1-based line number (HAR: 1-based entry number)


@dataclass(frozen=True)
class Problem:
    line: int
    text: str  # the offending line or entry, at most PROBLEM_TEXT characters
    reason: str


class Skip(Exception):
    """A line or entry that is not a request; the message says why."""


class RequestSource:
    """Iterable of ReplayRequest; counts the lines it could not parse as it goes.

    Each iteration reads the file again (a HAR file: its entries, loaded once) and counts afresh.
    A pipe or a device cannot be read again: its lines are read once, from ``opened``.
    """

    def __init__(
        self,
        path: Path,
        format: str,
        entries: list[Any] | None = None,
        opened: Peeked | None = None,
    ) -> None:
        self.path = path
        self.format = format
        self.problem_count = 0
        self.problems: list[Problem] = []
        self._entries = entries
        self._opened = opened
        # Whether it can be iterated more than once (by each worker of a replay, say).
        self.rereadable = opened is None

    def __iter__(self) -> Iterator[ReplayRequest]:
        self.problem_count = 0
        self.problems = []
        if self.format == "har":
            entries = self._entries if self._entries is not None else _har_entries(self.path)
            yield from self._har(entries)
            return
        yield from self._lines(_combined_line if self.format == "combined" else _json_line)

    def _lines(self, parse: Callable[[str, int], ReplayRequest]) -> Iterator[ReplayRequest]:
        number = 0
        opened, self._opened = self._opened, None
        if opened is None and not self.rereadable:
            raise SourceError(f"{self.path} is a pipe or a device, which can be read only once.")
        if opened is None:
            opened = _peek(self.path)
        with opened.text() as handle:
            readline = handle.readline
            try:
                while raw := readline(MAX_LINE):
                    number += 1
                    if len(raw) == MAX_LINE and raw[-1] != "\n" and _skip_rest(handle):
                        self._problem(number, raw, f"line longer than {MAX_LINE:,} characters")
                        continue
                    if raw.isspace():
                        continue
                    try:
                        yield parse(raw, number)
                    except Skip as skip:
                        self._problem(number, raw.rstrip("\r\n"), str(skip))
            except EOFError:
                self._problem(number + 1, "", "the compressed file ends early (cut off)")
            except (zlib.error, gzip.BadGzipFile) as exc:
                self._problem(number + 1, "", f"unreadable compressed data: {exc}")

    def _har(self, entries: list[Any]) -> Iterator[ReplayRequest]:
        for number, entry in enumerate(entries, start=1):
            try:
                yield _har_entry(entry, number)
            except Skip as skip:
                request = entry.get("request") if isinstance(entry, dict) else None
                shown = request if isinstance(request, dict) else entry
                self._problem(number, json.dumps(shown, separators=(",", ":")), str(skip))

    def _problem(self, line: int, text: str, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(line, _shorten(text), reason))


def open_source(path: Path, format: str | None = None) -> RequestSource:
    """The requests recorded in ``path``, in ``format`` or the one its content shows.

    Raises :class:`SourceError` for a missing, unreadable or empty file, a directory, an unknown
    format name, content that matches no format, and a HAR file that is not valid JSON.
    """
    path = Path(path)
    if format is not None and format not in FORMATS:
        raise SourceError(f"Unknown format {format!r}; choose from {', '.join(FORMATS)}.")
    opened = _peek(path)
    try:
        format = format or _detected(path, opened)
        if format == "har":
            return RequestSource(path, format, _har_entries(path, opened))
    except BaseException:
        opened.close()
        raise
    if opened.rereadable:  # read again from the start, by each process that replays it
        opened.close()
        return RequestSource(path, format)
    return RequestSource(path, format, opened=opened)


def detect_format(path: Path) -> str:
    """Guess the format from content (not the file name): read the start of the file.

    A first non-blank character ``{`` means a HAR document (``{"log": {"version": ...`` in the
    first 64 KiB; the document is not loaded) or JSON lines (a whole JSON object on one line);
    otherwise one of the first 20 non-blank lines must be a combined or common log line.
    """
    path = Path(path)
    opened = _peek(path)
    try:
        return _detected(path, opened)
    finally:
        opened.close()


def _detected(path: Path, opened: Peeked) -> str:
    format = _detect(opened.head_text())
    if format is None:
        raise SourceError(_no_format_message(path))
    return format


def _peek(path: Path) -> Peeked:
    """``path`` opened, with the start of its content read; a SourceError if there is none."""
    if path.is_dir():
        raise SourceError(f"{path} is a directory, not a log file.")
    if not path.exists():
        raise SourceError(f"{path} does not exist.")
    try:
        opened = peek(path)
    except gzip.BadGzipFile as exc:
        raise SourceError(f"Cannot read {path}: broken gzip data ({exc}).") from None
    except OSError as exc:
        raise SourceError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    except (EOFError, zlib.error) as exc:
        raise SourceError(f"Cannot read {path}: broken gzip data ({exc}).") from None
    if not opened.head_text().strip():
        opened.close()
        raise SourceError(f"{path} is empty: there are no requests to replay.")
    return opened


def _detect(head: str) -> str | None:
    text = head.lstrip()
    lines = [line for line in text.splitlines() if line.strip()][:DETECT_LINES]
    if text.startswith("{"):
        first = _json_object(lines[0])
        if first is not None:
            log = first.get("log")
            is_har = isinstance(log, dict) and ("entries" in log or "version" in log)
            return "har" if is_har else "jsonl"
        log_key = HAR_LOG.search(text)
        if log_key is not None and HAR_KEY.search(text, log_key.end()):
            return "har"
        if any(_json_object(line) is not None for line in lines):
            return "jsonl"
    if any(COMBINED.match(line) for line in lines):
        return "combined"
    return None


def _no_format_message(path: Path) -> str:
    return (
        f"{path} is not an access log (combined or common format), a HAR file or JSON lines; "
        f"if it is one of these, say which with --format {{{','.join(FORMATS)}}}."
    )


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _skip_rest(handle: IO[str]) -> bool:
    """Read past the rest of an overlong line, in pieces; false if there was none (the line was
    exactly ``MAX_LINE`` characters and the last one)."""
    rest = handle.readline(MAX_LINE)
    if not rest:
        return False
    while rest and rest[-1] != "\n":
        rest = handle.readline(MAX_LINE)
    return True


def _har_entries(path: Path, opened: Peeked | None = None) -> list[Any]:
    """The entries of a HAR file: one JSON document, so read whole, but never more than
    ``MAX_HAR`` bytes of it (uncompressed: a gzip file may expand a thousandfold)."""
    try:
        with (opened or _peek(path)).content as content:
            data = read_limited(content, MAX_HAR)
    except InputTooLarge as exc:
        raise SourceError(
            f"{path} is {exc} (uncompressed), the most read of a HAR file, which is one JSON "
            "document loaded whole: export fewer requests, or convert them to JSON lines, "
            "which are read one line at a time."
        ) from None
    except OSError as exc:
        raise SourceError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    except (EOFError, zlib.error) as exc:
        raise SourceError(f"Cannot read {path}: broken gzip data ({exc}).") from None
    text = data.decode(ENCODING, errors="replace")
    del data  # not held while the document is parsed
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"{path} is not a HAR file: invalid JSON at line {exc.lineno}, column {exc.colno} "
            f"({exc.msg})."
        ) from None
    except RecursionError:
        raise SourceError(f"{path} is not a HAR file: its JSON is nested too deeply.") from None
    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise SourceError(f"{path} is not a HAR file (no log.entries list in a JSON document).")
    return entries


def _request(
    method: str,
    path: str,
    headers: dict[str, str],
    body: str | None,
    user: str | None,
    number: int,
) -> ReplayRequest:
    """The request, unless its path, user or a header holds a control character (the body is
    the view's business); the reason names the character and the field, not the value."""
    _refuse_control(CONTROL, path, "the path")
    if user is not None:
        _refuse_control(CONTROL, user, '"user"')
    for name, value in headers.items():
        _refuse_control(CONTROL, name, "a header name")
        _refuse_control(HEADER_VALUE_CONTROL, value, f"the value of header {name!r}")
    return ReplayRequest(method, path, headers, body, user, number)


def _refuse_control(pattern: re.Pattern[str], text: str, where: str) -> None:
    found = pattern.search(text)
    if found is not None:
        raise Skip(f"a control character ({ord(found.group()):#04x}) in {where}")


def _combined_line(text: str, number: int) -> ReplayRequest:
    match = COMBINED_PLAIN.match(text) or COMBINED.match(text)
    if match is None:
        raise Skip("not a combined or common log line")
    method, target, request, referer, agent = match.groups()
    if method is None:
        method, target = _request_line(request)
    elif not method.isupper():
        method = method.upper()
    headers = {}
    if referer and referer != "-":
        headers["Referer"] = _unescape(referer)
    if agent and agent != "-":
        headers["User-Agent"] = _unescape(agent)
    return _request(method, _path(target), headers, None, None, number)


def _request_line(request: str) -> tuple[str, str]:
    """Method and target of a logged request line (``GET /a HTTP/1.1``, or ``GET /a``)."""
    if request in ("-", ""):
        raise Skip('no request line ("-")')
    if request.startswith("\\x16\\x03"):  # a TLS record header, as nginx escapes it
        raise Skip("a TLS handshake sent to a plain HTTP port")
    parts = _unescape(request).split(" ")
    if len(parts) == 2 or (len(parts) == 3 and parts[2].startswith("HTTP/")):
        return _method(parts[0]), parts[1]
    raise Skip("not an HTTP request line")


def _unescape(text: str) -> str:
    """Undo the ``\\"`` and ``\\\\`` escapes of a quoted log field (``\\xHH`` stays as is)."""
    return BACKSLASH_ESCAPE.sub(r"\1", text) if "\\" in text else text


def _json_line(text: str, number: int) -> ReplayRequest:
    try:
        data = json.loads(text.rstrip("\r\n"))
    except ValueError as exc:
        raise Skip(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise Skip("invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise Skip(f"{_json_type(data)}, not a JSON object")
    path = data.get("path")
    if path is None:
        raise Skip('no "path"')
    if not isinstance(path, str):
        raise Skip(f'"path" is {_json_type(path)}, not a string')
    method = data.get("method")
    headers = _json_headers(data.get("headers"))
    body = data.get("body")
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    elif body is not None and not isinstance(body, str):
        raise Skip(f'"body" is {_json_type(body)}, not a string, object or array')
    user = data.get("user")
    if isinstance(user, bool) or not isinstance(user, (str, int, type(None))):
        raise Skip(f'"user" is {_json_type(user)}, not a string or an integer')
    return _request(
        "GET" if method is None else _method(method),
        _path(path),
        headers,
        body,
        None if user is None else str(user),
        number,
    )


def _json_headers(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Skip(f'"headers" is {_json_type(value)}, not an object')
    pairs = []
    for name, given in value.items():
        if isinstance(given, bool) or not isinstance(given, (str, int, float)):
            raise Skip(f"header {name!r} is {_json_type(given)}, not a string")
        pairs.append((name, str(given)))
    return _kept_headers(pairs)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return JSON_TYPES.get(type(value), "an object")


def _har_entry(entry: Any, number: int) -> ReplayRequest:
    request = entry.get("request") if isinstance(entry, dict) else None
    if not isinstance(request, dict):
        raise Skip("entry without a request object")
    url, method = request.get("url"), request.get("method")
    if not isinstance(url, str) or not url:
        raise Skip("request without a url")
    if not isinstance(method, str) or not method:
        raise Skip("request without a method")
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise Skip(f"not an HTTP URL: {url[:60]}")
    headers = _kept_headers(_har_pairs(request, "headers"))
    # Neither is replayed (the url holds the query, recorded cookies are dropped), but an
    # entry with either malformed is as suspect as one with malformed headers.
    _har_pairs(request, "queryString")
    _har_pairs(request, "cookies")
    body = None
    post = request.get("postData")
    if post is not None:
        if not isinstance(post, dict):
            raise Skip(f'"postData" is {_json_type(post)}, not an object')
        body = _har_body(post)
        mime = _har_string(post, "mimeType", "postData")
        if mime and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = mime
    return _request(_method(method), _path(url), headers, body, None, number)


def _har_pairs(owner: dict[str, Any], key: str, label: str | None = None) -> list[tuple[str, str]]:
    """The ``{"name": ..., "value": ...}`` objects of ``owner[key]``, as pairs.

    Skips the entry, saying where, when they are not an array of such objects with string
    names and values; the reason never holds a recorded value (it may be a secret).
    """
    label = label or key
    items = owner.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise Skip(f'"{label}" is {_json_type(items)}, not an array')
    pairs = []
    for index, item in enumerate(items, start=1):
        where = f'"{label}" item {index}'
        if not isinstance(item, dict):
            raise Skip(f"{where} is {_json_type(item)}, not an object")
        name, value = item.get("name"), item.get("value", "")
        if not isinstance(name, str):
            raise Skip(f'{where} has a "name" that is {_json_type(name)}, not a string')
        if not isinstance(value, str):
            raise Skip(f'{where} has a "value" that is {_json_type(value)}, not a string')
        pairs.append((name, value))
    return pairs


def _har_string(owner: dict[str, Any], key: str, label: str) -> str | None:
    value = owner.get(key)
    if value is not None and not isinstance(value, str):
        raise Skip(f'"{label}.{key}" is {_json_type(value)}, not a string')
    return value


def _har_body(post: dict[str, Any]) -> str | None:
    """``postData.text``; else its ``params`` as a form (some exporters give only those)."""
    text = _har_string(post, "text", "postData")
    params = _har_pairs(post, "params", "postData.params")
    if text is not None:
        return text
    return urlencode(params) if params else None


def _method(value: Any) -> str:
    if isinstance(value, str) and len(value) <= 20 and value.isascii() and value.isalpha():
        return value if value.isupper() else value.upper()
    raise Skip(f"invalid method {str(value)[:20]!r}")


def _path(target: str) -> str:
    """Path and query of an origin-form (``/a?b``) or absolute-form (``http://h/a?b``) target."""
    if target.startswith("/"):
        return target
    parts = urlsplit(target)
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        path = parts.path or "/"
        return f"{path}?{parts.query}" if parts.query else path
    raise Skip(f"path neither starts with '/' nor is an http(s) URL: {target[:60]!r}")


def _kept_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in pairs:
        if not name or name.startswith(":") or name.lower() in DROPPED_HEADERS:
            continue
        headers[name] = value
    return headers


def _shorten(text: str) -> str:
    return text if len(text) <= PROBLEM_TEXT else text[: PROBLEM_TEXT - 3] + "..."
