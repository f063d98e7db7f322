"""Logged times as POSIX timestamps: ``[10/Oct/2026:13:55:36 +0000]``, ISO 8601 and epochs.

A busy log has thousands of lines a minute, all with the same date, hour, minute and offset, so
each minute is parsed once and kept (a few thousand minutes at most: the log is read in time
order, near enough), and a line costs a dictionary look-up and the seconds added.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

from django_profilecmds.replay.recorded import Skip

MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}
CACHED = 4096  # minutes, or times to the second
# 10/Oct/2026:13:55:36 +0000, optionally with a fraction of a second (Apache's %{msec_frac}t)
LOG_TIME = re.compile(
    r"(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))? ([+-])(\d\d)(\d\d)$"
)
ISO_TIME = re.compile(
    r"\s*(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)?"
    r"\s*(?:[Zz]|([+-])(\d\d)(?::?(\d\d))?)?\s*$"
)
NUMBER = re.compile(r"\s*(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$")
EPOCH_MS = 1e11  # a larger epoch is in milliseconds (1e11 seconds is the year 5138)
EPOCH_US = 1e14  # and a larger still in microseconds


class LogTimes:
    """Parses the ``$time_local`` of nginx, Apache's ``%t`` and gunicorn's ``%(t)s``."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}  # by text: a busy log has many lines a second
        self._minutes: dict[str, float] = {}

    def seconds(self, text: str) -> float:
        """``10/Oct/2026:13:55:36 +0000`` as a POSIX timestamp; :class:`Skip` if it is none."""
        seconds = self.seen.get(text)
        if seconds is None:
            seconds = self._minute_seen(text)
            if len(self.seen) >= CACHED:
                self.seen.clear()
            self.seen[text] = seconds
        return seconds

    def _minute_seen(self, text: str) -> float:
        # A minute seen before, in the usual form (the seconds at [18:20]).
        if len(text) == 26:
            base = self._minutes.get(text[:17] + text[20:])
            if base is not None and text[17] == ":":
                second = text[18:20]
                if second.isdigit() and second.isascii() and second <= "60":
                    return base + int(second)
        return self._parse(text)

    def _parse(self, text: str) -> float:
        match = LOG_TIME.match(text)
        if match is None:
            raise Skip("the time is not like [10/Oct/2026:13:55:36 +0000]")
        day, month, year, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
        if month not in MONTHS:
            raise Skip(f"the time has no month {month!r}")
        offset = int(off_h) * 60 + int(off_m)
        base = _minute(
            int(year),
            MONTHS[month],
            int(day),
            int(hour),
            int(minute),
            -offset if sign == "-" else offset,
        )
        if len(self._minutes) >= CACHED:
            self._minutes.clear()
        if fraction is None:
            self._minutes[text[:17] + text[20:]] = base
        return base + _second(second, fraction)


class IsoTimes:
    """Parses ISO 8601 times (``2026-10-10T13:55:36.123Z``) and epoch numbers; a time without
    an offset is taken as UTC."""

    def __init__(self) -> None:
        self._minutes: dict[tuple[str, str | None, str | None, str | None], float] = {}

    def seconds(self, value: object) -> float:
        """A logged time as a POSIX timestamp; :class:`Skip` if it is none."""
        if isinstance(value, str):
            match = ISO_TIME.match(value)
            if match is not None:
                return self._iso(value, match)
            if NUMBER.match(value) is None:
                raise Skip("the time is neither ISO 8601 nor a number")
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Skip("the time is neither ISO 8601 nor a number")
        return epoch_seconds(value)

    def _iso(self, text: str, match: re.Match[str]) -> float:
        second, fraction, sign, off_h, off_m = match.group(6, 7, 8, 9, 10)
        key = (text[match.start(1) : match.end(5)], sign, off_h, off_m)
        base = self._minutes.get(key)
        if base is None:
            year, month, day, hour, minute = (int(part) for part in match.group(1, 2, 3, 4, 5))
            offset = int(off_h or 0) * 60 + int(off_m or 0)
            base = _minute(year, month, day, hour, minute, -offset if sign == "-" else offset)
            if len(self._minutes) >= CACHED:
                self._minutes.clear()
            self._minutes[key] = base
        return base + _second(second or "0", fraction)


def epoch_seconds(value: float) -> float:
    """An epoch in seconds, milliseconds or microseconds (told apart by size), in seconds."""
    if not math.isfinite(value) or value < 0:
        raise Skip("the time is not a positive number")
    if value >= EPOCH_US:
        return value / 1e6
    return value / 1e3 if value >= EPOCH_MS else float(value)


def _minute(year: int, month: int, day: int, hour: int, minute: int, offset: int) -> float:
    """The start of a minute, at an offset from UTC in minutes, as a POSIX timestamp."""
    try:
        zone = timezone(timedelta(minutes=offset))
        return datetime(year, month, day, hour, minute, tzinfo=zone).timestamp()
    except (ValueError, OverflowError):
        raise Skip("the time is not a valid date and time") from None


def _second(second: str, fraction: str | None) -> float:
    seconds = int(second)
    if seconds > 60:  # 60: a leap second
        raise Skip("the time is not a valid date and time")
    return seconds + float(f"0.{fraction}") if fraction else float(seconds)
