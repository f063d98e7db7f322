"""Response times that production logs already hold, read as requests, without a replay.

Four formats, each detected from a file's first 20 lines (or named with ``--format``):

``nginx``
    The ``combined`` format followed by ``$request_time`` (seconds, to the millisecond) and,
    optionally, ``$upstream_response_time`` (the application's share: the layer
    ``upstream``; ``-`` when nginx answered alone, the sum when several upstreams were
    tried). Either may be quoted::

        log_format timed '$remote_addr - $remote_user [$time_local] "$request" '
                         '$status $body_bytes_sent "$http_referer" "$http_user_agent" '
                         '$request_time $upstream_response_time';
        access_log /var/log/nginx/access.log timed;

``apache``
    The combined (or common) format followed by ``%D``, the time taken in microseconds. Only
    ``%D``: ``%T`` is in whole seconds, too coarse to tell views apart (``%{ms}T`` can be
    read with ``--duration-unit ms``)::

        LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\" %D" timed
        CustomLog ${APACHE_LOG_DIR}/access.log timed

``gunicorn``
    Its default ``access_log_format`` (the combined format) followed by ``%(L)s`` (seconds,
    as a decimal), ``%(D)s`` (microseconds) or ``%(M)s`` (milliseconds: give
    ``--duration-unit ms``, as nothing in the number says so)::

        access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(L)s'

    These three formats share one reader: a response time with a decimal point is in
    seconds, an integer in microseconds, unless ``--duration-unit`` says otherwise. The name
    detected is the server that writes such numbers: three decimals (or upstream times) are
    nginx's, six gunicorn's ``%(L)s``, an integer Apache's (or gunicorn's ``%(D)s``).

``jsonl``
    One JSON object per line. The time is the first of the fields ``time``, ``timestamp``,
    ``@timestamp``, ``ts``, ``datetime``, ``date``, ``asctime``, ``created`` that the first
    lines have (ISO 8601, with an offset, ``Z`` or none, which is UTC; or an epoch in
    seconds, milliseconds or microseconds, told apart by size), or ``--time-field``. The
    response time is the first of ``duration``, ``duration_ms``, ``duration_us``,
    ``duration_s``, ``response_time``, ``response_time_ms``, ``request_time``,
    ``request_time_ms``, ``elapsed``, ``elapsed_ms``, ``latency``, ``latency_ms``, ``took``,
    ``took_ms``, ``time_taken``, or ``--duration-field``; its unit is the name's suffix
    (``_ms``, ``_us``, ``_s``), else ``--duration-unit``, else seconds (text such as
    ``"12.5ms"`` says its own). The path is ``path``, ``uri``, ``url``, ``request_uri``,
    ``request_path`` or ``request`` (a request line, ``GET /books/ HTTP/1.1``); the method
    ``method``, ``request_method`` or ``http_method`` (else GET, or the request line's); the
    status ``status``, ``status_code``, ``response_status`` or ``http_status``. Every other
    numeric field named ``<layer>_ms``, ``<layer>_us``, ``<layer>_s`` or ``<layer>_time``
    (``db_ms``, ``cache_ms``, ``upstream_response_time``) is a layer, unless
    ``--layer-fields`` names them. A field given may be nested: ``http.duration_ms``.

A path is kept without its query string, which may hold a token; so is the text of a line
that could not be read, in :attr:`TrafficLog.problems`.

Several files (rotations, ``access.log.2.gz`` read as it is) are merged by time whatever
order they are given in: each file is read in its own order, one line at a time, and a file
is opened only when the merged stream reaches its first request, so a month of rotations is
read with one or two files open and memory that does not grow with the logs. A server logs
a request when it is answered, so a slow request's line comes after those of quicker ones
that started later: within a file the order is the log's, slightly out of time order, which
the analysis's time windows absorb.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django_profilecmds.replay.lines import MAX_PROBLEMS, Problem, open_log, read_lines, shorten
from django_profilecmds.replay.peeking import PEEK_BYTES, Peeked
from django_profilecmds.replay.recorded import Skip, SourceError
from django_profilecmds.traffic import accesstimes
from django_profilecmds.traffic.jsontimes import json_times
from django_profilecmds.traffic.timed import TimedRequest, units_per_second, without_query

__all__ = [
    "MAX_PROBLEMS",
    "TRAFFIC_FORMATS",
    "Problem",
    "SourceError",
    "TimedRequest",
    "TrafficLog",
]

TRAFFIC_FORMATS = ("nginx", "apache", "gunicorn", "jsonl")
DETECT_LINES = 20
NEEDS_TIME = {
    "nginx": "nginx logs need $request_time at the end of the line",
    "apache": "Apache logs need %D at the end of the LogFormat",
    "gunicorn": "gunicorn logs need %(L)s, %(D)s or %(M)s at the end of access_log_format",
}


class LineParser(Protocol):
    def parse(self, text: str, number: int) -> TimedRequest: ...


@dataclass(frozen=True)
class FieldOptions:
    time_field: str | None
    duration_field: str | None
    layer_fields: Sequence[str] | None
    per_second: float | None  # units of --duration-unit in a second


@dataclass
class LogFile:
    """One file of a traffic log, and how far it has been read."""

    path: Path
    format: str
    parser: LineParser
    first: float  # the time of its first request
    size: int  # bytes on disk (0 for a pipe)
    opened: Peeked | None  # a pipe, which cannot be opened again, kept open
    rereadable: bool
    lines: int = 0
    requests: int = 0
    skipped: int = 0
    reading: Peeked | None = None
    done: bool = False

    @property
    def bytes_read(self) -> int:
        if self.done:
            return self.size
        if self.reading is None or self.reading.file is None:
            return 0
        try:
            return min(self.reading.file.tell(), self.size)
        except (OSError, ValueError):  # a pipe; closed
            return 0


class TrafficLog:
    """The requests of one or more log files, with their response times, in time order.

    Iterable of :class:`TimedRequest`, in one streaming pass (another pass reads the files
    again and counts afresh; a pipe can be read only once). Lines that are not requests are
    counted in ``skipped``, and the first ``MAX_PROBLEMS`` kept in ``problems``; blank lines
    are neither. Raises :class:`SourceError` (one line, naming the file) for an unknown format
    or unit, and for a file that is missing, unreadable, a directory, empty, or has no line
    that its format can read.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        format: str = "auto",
        time_field: str | None = None,
        duration_field: str | None = None,
        duration_unit: str | None = None,
        layer_fields: Sequence[str] | None = None,
    ) -> None:
        if format != "auto" and format not in TRAFFIC_FORMATS:
            choices = ", ".join(("auto", *TRAFFIC_FORMATS))
            raise SourceError(f"Unknown format {format!r}; choose from {choices}.")
        options = FieldOptions(
            time_field, duration_field, layer_fields, units_per_second(duration_unit)
        )
        if not paths:
            raise SourceError("No log file given.")
        self._files: list[LogFile] = []
        try:
            for path in paths:
                self._files.append(_log_file(Path(path), format, options))
        except BaseException:
            self.close()
            raise
        self.formats = {str(file.path): file.format for file in self._files}
        self.bytes_total = sum(file.size for file in self._files)
        self.problems: list[Problem] = []

    @property
    def lines_read(self) -> int:
        return sum(file.lines for file in self._files)

    @property
    def requests(self) -> int:
        return sum(file.requests for file in self._files)

    @property
    def skipped(self) -> int:
        return sum(file.skipped for file in self._files)

    @property
    def bytes_read(self) -> int:
        """Bytes of the files on disk read so far (compressed ones' compressed bytes)."""
        return sum(file.bytes_read for file in self._files)

    def __iter__(self) -> Iterator[TimedRequest]:
        self.problems = []
        for file in self._files:
            file.lines = file.requests = file.skipped = 0
            file.done = False
        streams = [(file.first, self._read(file)) for file in self._files]
        if len(streams) == 1:
            yield from streams[0][1]
        else:
            yield from _merged(streams)

    def close(self) -> None:
        """Close the pipes kept open since detection (files are closed once read)."""
        for file in self._files:
            if file.opened is not None:
                file.opened.close()
                file.opened = None

    def _read(self, file: LogFile) -> Iterator[TimedRequest]:
        opened, file.opened = file.opened, None
        if opened is None:
            if not file.rereadable:
                raise SourceError(f"{file.path} is a pipe or a device, which can be read once.")
            opened = open_log(file.path)
        file.reading = opened
        parse = file.parser.parse

        def problem(number: int, text: str, reason: str) -> None:
            if text:  # an overlong line (else the compressed data broke)
                file.lines = number
            self._problem(file, number, text, reason)

        with opened.text() as handle:
            for number, raw in read_lines(handle, problem):
                file.lines = number
                try:
                    request = parse(raw, number)
                except Skip as skip:
                    if not raw.isspace():
                        self._problem(file, number, raw.rstrip("\r\n"), str(skip))
                    continue
                file.requests += 1
                yield request
        file.done = True
        file.reading = None

    def _problem(self, file: LogFile, number: int, text: str, reason: str) -> None:
        file.skipped += 1
        if len(self.problems) < MAX_PROBLEMS:
            text, reason = shorten(without_query(text)), without_query(reason)
            self.problems.append(Problem(number, text, reason, str(file.path)))


def _log_file(path: Path, format: str, options: FieldOptions) -> LogFile:
    """``path`` opened, its format detected (or checked) and its first request read."""
    opened = open_log(path)
    try:
        head, whole = _head_lines(opened)
        if not head:
            raise SourceError(f"{path} is empty: there are no requests in it.")
        format = _detected(path, head, whole) if format == "auto" else format
        parser = _parser(path, format, head, whole, options)
        first = _first_time(path, format, parser, head, whole)
        size = path.stat().st_size if opened.rereadable else 0
    except BaseException:
        opened.close()
        raise
    if opened.rereadable:  # read again from the start when iterated
        opened.close()
        return LogFile(path, format, parser, first, size, None, rereadable=True)
    return LogFile(path, format, parser, first, size, opened, rereadable=False)


def _head_lines(opened: Peeked) -> tuple[list[str], bool]:
    """The first non-blank whole lines, and whether they are all the file has."""
    lines = opened.head_text().split("\n")
    cut = len(opened.head) >= PEEK_BYTES
    if cut:  # the last may be part of a line
        lines.pop()
    lines = [line for line in lines if line.strip()]
    return lines[:DETECT_LINES], not cut and len(lines) <= DETECT_LINES


def _detected(path: Path, head: list[str], whole: bool) -> str:
    if head[0].lstrip().startswith("{") and _json_objects(head):
        return "jsonl"
    format = accesstimes.detected_format(head)
    if format is not None:
        return format
    if accesstimes.is_access_log(head):
        raise SourceError(
            f"{path}: {_no_line(head, whole)} has a response time; add $request_time (nginx), %D "
            "(Apache) or %(L)s (gunicorn) at the end of the log format (see --format)."
        )
    raise SourceError(
        f"{path} is not an access log with response times (nginx, Apache, gunicorn) or JSON "
        f"lines; if it is one of these, say which with --format {{{','.join(TRAFFIC_FORMATS)}}}."
    )


def _parser(
    path: Path, format: str, head: list[str], whole: bool, options: FieldOptions
) -> LineParser:
    if format == "jsonl":
        objects = _json_objects(head)
        if not objects:
            raise SourceError(f"{path}: {_no_line(head, whole)} is a JSON object (see --format).")
        return json_times(
            str(path),
            objects,
            time_field=options.time_field,
            duration_field=options.duration_field,
            layer_fields=options.layer_fields,
            per_second=options.per_second,
        )
    given = [
        flag
        for flag, value in (
            ("--time-field", options.time_field),
            ("--duration-field", options.duration_field),
            ("--layer-fields", options.layer_fields),
        )
        if value is not None
    ]
    if given:
        verb = "is" if len(given) == 1 else "are"
        raise SourceError(f"{path} holds {format} lines; {', '.join(given)} {verb} for JSON lines.")
    return accesstimes.AccessTimes(options.per_second)


def _first_time(path: Path, format: str, parser: LineParser, head: list[str], whole: bool) -> float:
    """The time of the first request among the first lines; a SourceError if none is one."""
    reasons = []
    for number, line in enumerate(head, start=1):
        try:
            return parser.parse(line, number).time
        except Skip as skip:
            reasons.append(str(skip))
    lines = _no_line(head, whole)
    if format == "jsonl":
        raise SourceError(
            f"{path}: {lines} is a request with a time and a response time "
            f"(the first: {without_query(reasons[0])})."
        )
    if not accesstimes.is_access_log(head):
        raise SourceError(
            f"{path}: {lines} is in the combined or common format that {format} logs are "
            "written in (see --format)."
        )
    raise SourceError(f"{path}: {lines} has a response time; {NEEDS_TIME[format]} (see --format).")


def _no_line(head: list[str], whole: bool) -> str:
    """Which lines were looked at: all the file has, or its first ones."""
    return "no line" if whole else f"none of the first {len(head)} lines"


def _json_objects(lines: list[str]) -> list[dict[str, Any]]:
    objects = []
    for line in lines:
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            objects.append(value)
    return objects


def _merged(streams: list[tuple[float, Iterator[TimedRequest]]]) -> Iterator[TimedRequest]:
    """The requests of several streams in time order, each given with the time of its first
    request; a stream is started only when the merge reaches that time."""
    waiting = sorted(range(len(streams)), key=lambda index: streams[index][0], reverse=True)
    heap: list[tuple[float, int, TimedRequest, Iterator[TimedRequest]]] = []
    while heap or waiting:
        while waiting and (not heap or streams[waiting[-1]][0] <= heap[0][0]):
            index = waiting.pop()
            stream = streams[index][1]
            request = next(stream, None)
            if request is not None:
                heapq.heappush(heap, (request.time, index, request, stream))
        if not heap:
            continue
        _, index, request, stream = heap[0]
        yield request
        following = next(stream, None)
        if following is None:
            heapq.heappop(heap)
        else:
            heapq.heapreplace(heap, (following.time, index, following, stream))
