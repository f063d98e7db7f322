"""A recorded request, as every input format reads it, and the checks all formats share.

Each format's reader (:mod:`.accesslog`, :mod:`.jsonlines`, :mod:`.har`) raises :class:`Skip`
for a line or entry that is not a request, and builds the request with
:func:`checked_request`, which refuses control characters where they have no place. Recorded
cookies, Host, X-Forwarded-Host and hop-by-hop headers are dropped (:func:`kept_headers`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django_profilecmds.exceptions import ProfileCmdsError

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


class Skip(Exception):
    """A line or entry that is not a request; the message says why."""


def checked_request(
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


def checked_method(value: Any) -> str:
    """A recorded method, upper-cased: letters only, at most 20 of them."""
    if isinstance(value, str) and len(value) <= 20 and value.isascii() and value.isalpha():
        return value if value.isupper() else value.upper()
    raise Skip(f"invalid method {str(value)[:20]!r}")


def request_path(target: str) -> str:
    """Path and query of an origin-form (``/a?b``) or absolute-form (``http://h/a?b``) target."""
    if target.startswith("/"):
        return target
    parts = urlsplit(target)
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        path = parts.path or "/"
        return f"{path}?{parts.query}" if parts.query else path
    raise Skip(f"path neither starts with '/' nor is an http(s) URL: {target[:60]!r}")


def kept_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The recorded headers that are replayed: without pseudo-headers and DROPPED_HEADERS."""
    headers: dict[str, str] = {}
    for name, value in pairs:
        if not name or name.startswith(":") or name.lower() in DROPPED_HEADERS:
            continue
        headers[name] = value
    return headers


def json_type(value: Any) -> str:
    """What a JSON value is, for a reason ("a boolean", "an array")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return JSON_TYPES.get(type(value), "an object")
