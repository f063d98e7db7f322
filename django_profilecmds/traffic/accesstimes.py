"""Access log lines with a response time: nginx, Apache and gunicorn, which all write the
combined format and can append the time a response took (see :mod:`.logs` for their settings).

The form of the number says its unit: a decimal with a point is in seconds (nginx's
``$request_time``, gunicorn's ``%(L)s``), an integer in microseconds (Apache's ``%D``,
gunicorn's ``%(D)s``); ``--duration-unit`` overrides both (gunicorn's ``%(M)s`` is in
milliseconds). nginx's ``$upstream_response_time`` may follow: the time the application took,
summed over the upstreams tried (``0.010, 0.200``, or ``0.010 : 0.200`` after an internal
redirect), as the layer ``upstream``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from django_profilecmds.replay.accesslog import (
    COMBINED,
    COMBINED_PLAIN,
    QUOTED,
    QUOTED_PLAIN,
    combined,
    request_line,
)
from django_profilecmds.replay.recorded import Skip
from django_profilecmds.traffic.timed import TimedRequest, logged_path, timed_request
from django_profilecmds.traffic.timestamps import LogTimes

_TIME = r"\d+(?:\.\d+)?"
_UPSTREAM = rf"(?:{_TIME}|-)(?:\s*[,:]\s*(?:{_TIME}|-))*"
# After the size, the optional referer and user agent, then the response time and the optional
# upstream times, each optionally quoted, at the end of the line.
_TIMES = rf'\s+(?P<q>"?)({_TIME})(?P=q)(?:\s+(?P<uq>"?)({_UPSTREAM})(?P=uq))?\s*$'
TIMED = combined(QUOTED, rf"(?: {QUOTED} {QUOTED})?{_TIMES}")
TIMED_PLAIN = combined(QUOTED_PLAIN, rf"(?: {QUOTED_PLAIN} {QUOTED_PLAIN})?{_TIMES}")  # no "\\"
# time, method, target, request line, status; (referer, agent, quote); duration; quote; upstream
FIELDS = (1, 2, 3, 4, 5, 9, 11)
UPSTREAM_SEPARATOR = re.compile(r"\s*[,:]\s*")
STATUSES = {f"{status:03d}": status for status in range(1000)}  # faster than int()
MICROSECONDS = 1e6  # in a second


class AccessTimes:
    """Reads lines of the combined (or common) format followed by a response time."""

    def __init__(self, per_second: float | None) -> None:
        self.per_second = per_second  # units of --duration-unit in a second; None: by the form
        self._times = LogTimes()

    def parse(self, text: str, number: int) -> TimedRequest:
        """The request logged on line ``number``; :class:`Skip` if there is none."""
        match = (TIMED if "\\" in text else TIMED_PLAIN).match(text)
        if match is None:
            if (COMBINED if "\\" in text else COMBINED_PLAIN).match(text):
                raise Skip("no response time at the end of the line")
            raise Skip("not a combined or common log line")
        logged, method, target, request, status, duration, upstream = match.group(*FIELDS)
        if method is None:
            method, target = request_line(request)
        elif not method.isupper():
            method = method.upper()
        # The usual cases inline: this runs for every line of the log.
        time = self._times.seen.get(logged)
        if time is None:
            time = self._times.seconds(logged)
        if upstream is None or upstream == "-":
            layers = {}
        elif self.per_second is None and "," not in upstream and ":" not in upstream:
            layers = {"upstream": float(upstream)}
        else:
            layers = self._upstream(upstream)
        if "." in duration and self.per_second is None:
            seconds = float(duration)
            if seconds == math.inf:
                raise Skip("the response time is out of range")
        else:
            seconds = self._seconds(duration)
        path = target.partition("?")[0] if target[:1] == "/" else target
        if not path.isprintable() or path[:1] != "/":
            path = logged_path(target)
        return timed_request(time, method, path, STATUSES.get(status), seconds, layers, number)

    def _seconds(self, text: str) -> float:
        value = float(text)
        if self.per_second is not None:
            value /= self.per_second
        elif "." not in text:
            value /= MICROSECONDS
        if math.isinf(value):
            raise Skip("the response time is out of range")
        return value

    def _upstream(self, text: str) -> dict[str, float]:
        if "," not in text and ":" not in text:
            return {"upstream": self._seconds(text)}
        times = [self._seconds(part) for part in UPSTREAM_SEPARATOR.split(text) if part != "-"]
        return {"upstream": sum(times)} if times else {}


def detected_format(lines: Iterable[str]) -> str | None:
    """Which server wrote these lines, by the form of their response times: ``nginx`` (3
    decimals, or upstream times), ``gunicorn`` (6 decimals, ``%(L)s``) or ``apache`` (an
    integer, ``%D``; gunicorn's ``%(D)s`` looks the same); None if no line has one."""
    votes: Counter[str] = Counter()
    for line in lines:
        match = (TIMED if "\\" in line else TIMED_PLAIN).match(line)
        if match is None:
            continue
        _, _, _, _, _, duration, upstream = match.group(*FIELDS)
        if upstream is not None or duration[-4:-3] == ".":
            votes["nginx"] += 1
        else:
            votes["gunicorn" if "." in duration else "apache"] += 1
    return votes.most_common(1)[0][0] if votes else None


def is_access_log(lines: Iterable[str]) -> bool:
    """Whether any of these lines is in the combined or common format, timed or not."""
    return any((COMBINED if "\\" in line else COMBINED_PLAIN).match(line) for line in lines)
