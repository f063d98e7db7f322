"""nginx and Apache access logs (the combined and common formats), one line at a time.

A line gives the method and target of its request line, and its Referer and User-Agent when it
has them; nothing else of a request is logged.
"""

from __future__ import annotations

import re

from django_profilecmds.replay.recorded import (
    ReplayRequest,
    Skip,
    checked_method,
    checked_request,
    request_path,
)

QUOTED = r'"([^"\\]*(?:\\.[^"\\]*)*)"'  # a quoted field, which may hold \" and \\
# The same for a line without a backslash, where it means the same: a few times faster.
QUOTED_PLAIN = r'"([^"]*)"'


def combined(quoted: str, end: str | None = None) -> re.Pattern[str]:
    """client ident user [time] "request" status size, then ``end``: by default the optional
    ["referer" "user agent"] and the end of the line or more fields (a line cut off inside the
    referer or user agent does not match). A plain request line (method, target, optional HTTP
    version) is split by the expression.

    Groups: time, method, target (or else request, the whole quoted request line), status,
    then those of ``end`` (by default referer, user agent)."""
    if end is None:
        end = rf"(?: {quoted} {quoted}(?=\s|$)|(?=\s*$|\s+[^\s\"]))"
    return re.compile(
        r'\S+ \S+ \S+ \[([^\]]*)\] (?:"([A-Za-z]{1,20}) ([^\s"\\]+)(?: HTTP/[^\s"\\]*)?"|'
        rf"{quoted}) (\d{{3}}|-) (?:\d+|-)" + end
    )


COMBINED = combined(QUOTED)
COMBINED_PLAIN = combined(QUOTED_PLAIN)  # for a line without a backslash
BACKSLASH_ESCAPE = re.compile(r'\\(["\\])')


def parse_line(text: str, number: int) -> ReplayRequest:
    """The request logged on line ``number``; :class:`.recorded.Skip` if it is none."""
    match = (COMBINED if "\\" in text else COMBINED_PLAIN).match(text)
    if match is None:
        raise Skip("not a combined or common log line")
    _, method, target, request, _, referer, agent = match.groups()
    if method is None:
        method, target = request_line(request)
    elif not method.isupper():
        method = method.upper()
    headers = {}
    if referer and referer != "-":
        headers["Referer"] = _unescape(referer)
    if agent and agent != "-":
        headers["User-Agent"] = _unescape(agent)
    return checked_request(method, request_path(target), headers, None, None, number)


def request_line(request: str) -> tuple[str, str]:
    """Method and target of a logged request line (``GET /a HTTP/1.1``, or ``GET /a``)."""
    if request in ("-", ""):
        raise Skip('no request line ("-")')
    if request.startswith("\\x16\\x03"):  # a TLS record header, as nginx escapes it
        raise Skip("a TLS handshake sent to a plain HTTP port")
    parts = _unescape(request).split(" ")
    if len(parts) == 2 or (len(parts) == 3 and parts[2].startswith("HTTP/")):
        return checked_method(parts[0]), parts[1]
    raise Skip("not an HTTP request line")


def _unescape(text: str) -> str:
    """Undo the ``\\"`` and ``\\\\`` escapes of a quoted log field (``\\xHH`` stays as is)."""
    return BACKSLASH_ESCAPE.sub(r"\1", text) if "\\" in text else text
