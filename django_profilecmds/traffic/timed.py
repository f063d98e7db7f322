"""A logged request with its response time, as every traffic log format reads it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django_profilecmds.replay.recorded import CONTROL, Skip, SourceError, request_path

DURATION_UNITS = {"s": 1.0, "ms": 1e3, "us": 1e6}  # per second


@dataclass(frozen=True, slots=True)
class TimedRequest:
    time: float  # POSIX timestamp in seconds (UTC epoch)
    method: str  # upper case
    path: str  # the path only: the query string is dropped (it may hold secrets)
    status: int | None
    duration: float  # seconds, the whole response time
    layers: Mapping[str, float]  # seconds per layer: {"upstream": 0.21}, {"db": 0.012}
    line: int  # 1-based line number in its file


FIELDS = ("time", "method", "path", "status", "duration", "layers", "line")
# A frozen dataclass's __init__ sets each field through object.__setattr__, which is a third of
# the time it takes to read a line; the readers set the slots through their descriptors, which
# is all that __init__ does.
_NEW = object.__new__
_SET_TIME, _SET_METHOD, _SET_PATH, _SET_STATUS, _SET_DURATION, _SET_LAYERS, _SET_LINE = (
    TimedRequest.__dict__[name].__set__ for name in FIELDS
)


def timed_request(
    time: float,
    method: str,
    path: str,
    status: int | None,
    duration: float,
    layers: Mapping[str, float],
    line: int,
) -> TimedRequest:
    """``TimedRequest(time, method, path, status, duration, layers, line)``, made faster."""
    request: Any = _NEW(TimedRequest)
    _SET_TIME(request, time)
    _SET_METHOD(request, method)
    _SET_PATH(request, path)
    _SET_STATUS(request, status)
    _SET_DURATION(request, duration)
    _SET_LAYERS(request, layers)
    _SET_LINE(request, line)
    return request  # type: ignore[no-any-return]


def units_per_second(unit: str | None) -> float | None:
    """How many of ``--duration-unit`` make a second (``None``: each format decides)."""
    if unit is None:
        return None
    try:
        return DURATION_UNITS[unit]
    except KeyError:
        choices = ", ".join(DURATION_UNITS)
        raise SourceError(f"Unknown duration unit {unit!r}; choose from {choices}.") from None


def logged_path(target: str) -> str:
    """The path of a logged target (``/a?b``, ``http://h/a?b``), without its query string."""
    path = (target if target.startswith("/") else request_path(target)).partition("?")[0]
    if not path.isprintable():  # quicker than the search, and true of almost every path
        found = CONTROL.search(path)
        if found is not None:
            raise Skip(f"a control character ({ord(found.group()):#04x}) in the path")
    return path


def without_query(text: str) -> str:
    """``text`` up to its first ``?``: what follows may be a query string holding a token."""
    cut = text.find("?")
    return text if cut < 0 else text[: cut + 1] + "..."
