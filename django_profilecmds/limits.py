"""Caps on how much is read of a file that a user names.

A path on the command line may be ``/dev/zero``, a FIFO that never ends, or a gzip file that
expands a thousandfold. Each is read up to a cap, so the worst case is an error naming the
file and the cap instead of a ``MemoryError`` after the machine has started swapping.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from django_profilecmds.exceptions import ProfileCmdsError

MIB = 1024 * 1024
MAX_JSON_BODY = 16 * MIB  # --json @FILE: one request body
MAX_BASELINE = 64 * MIB  # --compare FILE: --save writes a few MiB for thousands of views
MAX_HAR = 256 * MIB  # decompressed: a HAR file is one JSON document, parsed whole


class InputTooLarge(ProfileCmdsError):
    """A file holds more than the cap on what is read of it. Its message (``larger than 16
    MiB``) is worded to end the reader's own error message."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"larger than {describe_size(limit)}")


def read_limited(handle: IO[bytes], limit: int) -> bytes:
    """All of ``handle``, or :class:`InputTooLarge` when it holds more than ``limit`` bytes
    (at most ``limit + 1`` bytes are read to find out)."""
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputTooLarge(limit)
    return data


def read_text_limited(path: Path, limit: int) -> str:
    """The UTF-8 text of ``path`` read with :func:`read_limited`; ``OSError`` and
    ``UnicodeDecodeError`` are the caller's to word."""
    with path.open("rb") as handle:
        return read_limited(handle, limit).decode("utf-8")


def describe_size(count: int) -> str:
    """``16 MiB`` for a whole number of MiB, else ``1,000 bytes``."""
    return f"{count // MIB} MiB" if count and count % MIB == 0 else f"{count:,} bytes"
