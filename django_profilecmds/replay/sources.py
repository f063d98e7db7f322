"""Recorded traffic as requests: nginx/Apache access logs, HAR files and JSON lines.

Access logs and JSON lines are read one line at a time, so a log of any length takes constant
memory (a line longer than ``MAX_LINE`` characters is skipped in pieces, as a problem). Rotated
logs compressed with gzip are read as they are. A HAR file is a single JSON document, so it is
loaded whole, once, when the source is opened. Lines or entries that are not requests are
counted, and the first ``MAX_PROBLEMS`` kept; they are never fatal. A pipe (``/dev/stdin``) is
read once, from its first byte: what detection looked at is given back (see ``peeking``).

This module opens a source and detects its format; each format is read by a module of its own
(:mod:`.accesslog`, :mod:`.jsonlines`, :mod:`.har`), into a :class:`.recorded.ReplayRequest`.
Recorded cookies, Host, X-Forwarded-Host and hop-by-hop headers are dropped: the replay logs in
its own user and sends its own Host, and recorded cookies are someone's session.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django_profilecmds.limits import MAX_HAR
from django_profilecmds.replay import accesslog, har, jsonlines
from django_profilecmds.replay.lines import (
    MAX_LINE,
    MAX_PROBLEMS,
    PROBLEM_TEXT,
    Problem,
    open_log,
    read_lines,
    shorten,
)
from django_profilecmds.replay.peeking import Peeked
from django_profilecmds.replay.recorded import ReplayRequest, Skip, SourceError

__all__ = [
    "FORMATS",
    "MAX_LINE",
    "MAX_PROBLEMS",
    "PROBLEM_TEXT",
    "Problem",
    "ReplayRequest",
    "RequestSource",
    "SourceError",
    "detect_format",
    "open_source",
]

FORMATS = ("combined", "har", "jsonl")
DETECT_LINES = 20
HAR_LOG = re.compile(r'"log"\s*:\s*\{')
HAR_KEY = re.compile(r'"(?:version|creator|pages|entries)"\s*:')


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
        yield from self._lines(
            accesslog.parse_line if self.format == "combined" else jsonlines.parse_line
        )

    def _lines(self, parse: Callable[[str, int], ReplayRequest]) -> Iterator[ReplayRequest]:
        opened, self._opened = self._opened, None
        if opened is None and not self.rereadable:
            raise SourceError(f"{self.path} is a pipe or a device, which can be read only once.")
        if opened is None:
            opened = _peek(self.path)
        with opened.text() as handle:
            for number, raw in read_lines(handle, self._problem):
                if raw.isspace():
                    continue
                try:
                    yield parse(raw, number)
                except Skip as skip:
                    self._problem(number, raw.rstrip("\r\n"), str(skip))

    def _har(self, entries: list[Any]) -> Iterator[ReplayRequest]:
        for number, entry in enumerate(entries, start=1):
            try:
                yield har.parse_entry(entry, number)
            except Skip as skip:
                request = entry.get("request") if isinstance(entry, dict) else None
                shown = request if isinstance(request, dict) else entry
                self._problem(number, json.dumps(shown, separators=(",", ":")), str(skip))

    def _problem(self, line: int, text: str, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(line, shorten(text), reason))


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
    opened = open_log(path)
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
    if any(accesslog.COMBINED.match(line) for line in lines):
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


def _har_entries(path: Path, opened: Peeked | None = None) -> list[Any]:
    """The entries of a HAR file, never more than ``MAX_HAR`` bytes of it read."""
    return har.read_entries(path, opened or _peek(path), MAX_HAR)
