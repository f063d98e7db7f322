"""A log read one line at a time, in constant memory, whatever its length or compression.

A line longer than ``MAX_LINE`` characters is skipped in pieces, as a problem; gzip data cut
off or broken part way is a problem at the end, after the lines before it. What cannot be
opened at all (a directory, a missing or unreadable file, gzip data broken from its first
bytes) is a :class:`.recorded.SourceError` naming the file. The replay's sources and the
traffic logs of ``profile_traffic`` both read their files here.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django_profilecmds.replay.peeking import Peeked, peek
from django_profilecmds.replay.recorded import SourceError

MAX_PROBLEMS = 5
PROBLEM_TEXT = 120  # characters of an offending line kept for display
MAX_LINE = 64 * 1024  # characters; a longer line is not a request


@dataclass(frozen=True)
class Problem:
    line: int
    text: str  # the offending line or entry, at most PROBLEM_TEXT characters
    reason: str
    file: str | None = None  # the file it is in, when several are read together


def open_log(path: Path) -> Peeked:
    """``path`` opened, with the start of its content read (which may be nothing)."""
    if path.is_dir():
        raise SourceError(f"{path} is a directory, not a log file.")
    if not path.exists():
        raise SourceError(f"{path} does not exist.")
    try:
        return peek(path)
    except gzip.BadGzipFile as exc:
        raise SourceError(f"Cannot read {path}: broken gzip data ({exc}).") from None
    except OSError as exc:
        raise SourceError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    except (EOFError, zlib.error) as exc:
        raise SourceError(f"Cannot read {path}: broken gzip data ({exc}).") from None


def read_lines(
    handle: IO[str], problem: Callable[[int, str, str], None]
) -> Iterator[tuple[int, str]]:
    """Each line of ``handle`` with its 1-based number, blank ones included, line ending kept.

    ``problem(number, text, reason)`` is called for an overlong line (which is not yielded) and
    for compressed data that ends early or breaks, after which reading stops.
    """
    number = 0
    readline = handle.readline
    try:
        while raw := readline(MAX_LINE):
            number += 1
            if len(raw) == MAX_LINE and raw[-1] != "\n" and _skip_rest(handle):
                problem(number, raw, f"line longer than {MAX_LINE:,} characters")
                continue
            yield number, raw
    except EOFError:
        problem(number + 1, "", "the compressed file ends early (cut off)")
    except (zlib.error, gzip.BadGzipFile) as exc:
        problem(number + 1, "", f"unreadable compressed data: {exc}")


def shorten(text: str) -> str:
    """``text`` cut to ``PROBLEM_TEXT`` characters, for a problem."""
    return text if len(text) <= PROBLEM_TEXT else text[: PROBLEM_TEXT - 3] + "..."


def _skip_rest(handle: IO[str]) -> bool:
    """Read past the rest of an overlong line, in pieces; false if there was none (the line was
    exactly ``MAX_LINE`` characters and the last one)."""
    rest = handle.readline(MAX_LINE)
    if not rest:
        return False
    while rest and rest[-1] != "\n":
        rest = handle.readline(MAX_LINE)
    return True
