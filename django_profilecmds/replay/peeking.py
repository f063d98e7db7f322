"""Open recorded traffic once, look at its start, and give back what was looked at.

Detecting the format means reading the start of the file; gunzipping means reading its first
two bytes. A regular file could simply be opened again, but a pipe (``cat access.log |
profile_replay /dev/stdin``) cannot: what was read is gone. So every read here is buffered and
chained back in front of the rest of the stream, and the caller reads from the very start.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

GZIP_MAGIC = b"\x1f\x8b"
PEEK_BYTES = 64 * 1024  # of the content (gunzipped), looked at to detect the format
ENCODING = "utf-8-sig"  # UTF-8, without the byte order mark some Windows tools write


@dataclass
class Peeked:
    """A file opened once: the start of its content, and all of it from the first byte."""

    head: bytes  # the first PEEK_BYTES bytes of the content (fewer if that is all it has)
    content: io.BufferedReader  # gunzipped when the file starts with the gzip magic bytes
    rereadable: bool  # a regular file, which can be opened again; not a pipe or a device
    file: IO[bytes] | None = None  # the file itself: how far it has been read (tell())

    def text(self) -> IO[str]:
        """The content as text; lines end at ``\\n`` only."""
        return io.TextIOWrapper(self.content, encoding=ENCODING, errors="replace", newline="\n")

    def head_text(self) -> str:
        return self.head.decode(ENCODING, errors="replace")

    def close(self) -> None:
        self.content.close()


def peek(path: Path) -> Peeked:
    """Open ``path``, read the start of its content and give it back.

    Raises ``OSError`` when it cannot be opened, and the ``EOFError`` or ``zlib.error`` of a
    gzip file that is broken before any of its content could be read.
    """
    rereadable = path.is_file()
    file = path.open("rb")
    try:
        magic = file.read(len(GZIP_MAGIC))  # a buffered read: as many bytes as asked, or EOF
        content: io.BufferedIOBase = io.BufferedReader(Prefixed(magic, file))
        if magic == GZIP_MAGIC:
            content = gzip.GzipFile(fileobj=content, mode="rb")
        head = read_head(content, PEEK_BYTES)
    except BaseException:
        file.close()
        raise
    return Peeked(head, io.BufferedReader(Prefixed(head, content, [file])), rereadable, file)


def read_head(stream: io.BufferedIOBase, limit: int) -> bytes:
    """Up to ``limit`` bytes from ``stream``. A failure after some is left for whoever reads
    on: what came before a cut in a gzip file can be read, and reading again fails again at
    the cut."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        try:
            chunk = stream.read1(limit - size)  # one read: what it returned is never lost
        except (EOFError, OSError, zlib.error):  # gzip.BadGzipFile is an OSError
            if not chunks:
                raise
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class Prefixed(io.RawIOBase):
    """``prefix``, then the rest of ``stream``: bytes read ahead, given back."""

    def __init__(
        self, prefix: bytes, stream: io.BufferedIOBase, closing: Iterable[IO[Any]] = ()
    ) -> None:
        super().__init__()
        self._prefix = memoryview(prefix)
        self._stream = stream
        # A GzipFile does not close the file it reads from.
        self._closing: list[IO[Any] | io.BufferedIOBase] = [stream, *closing]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        if self._prefix:
            count = min(len(target), len(self._prefix))
            target[:count] = self._prefix[:count]
            self._prefix = self._prefix[count:]
            return count
        data = self._stream.read1(len(target))
        target[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            for stream in self._closing:
                stream.close()
        super().close()
