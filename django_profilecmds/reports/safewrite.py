"""Writing a file without ever writing through an existing name.

Every file is written whole into a new private file next to its final name (mode 0600, made by
``tempfile.mkstemp`` with ``O_EXCL|O_NOFOLLOW``), then renamed onto that name. So a hard link or
symbolic link found at the name is replaced, never written through; a reader (a browser, another
run rebuilding the index) sees the old file or the new one, never a torn one; and a failure, a full
disk say, leaves the old file as it was and removes the new one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from django_profilecmds.exceptions import ReportWriteError

#: What a file holds: text (written as UTF-8), bytes, or a function writing to a binary file.
Content = str | bytes | Callable[[IO[bytes]], None]


def replace_file(directory: Path, name: str, content: Content) -> Path:
    """Write ``content`` as ``directory / name`` by rename. ``OSError`` is left to the caller,
    and no temporary file is left behind."""
    fd, temporary = tempfile.mkstemp(prefix=f".{name[:200]}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(content, str):
                handle.write(content.encode("utf-8"))
            elif isinstance(content, bytes):
                handle.write(content)
            else:
                content(handle)
        os.replace(temporary, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return directory / name


def refuse_unless_regular(path: Path) -> None:
    """Refuse to replace ``path`` unless it is missing or a regular file: a symbolic link was put
    there to send the write elsewhere, and a device (``/dev/null``) must not be replaced."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ReportWriteError(f"Cannot write {str(path)!r}: {exc.strerror or exc}.") from exc
    if stat.S_ISLNK(mode):
        raise ReportWriteError(
            f"Refusing to write {str(path)!r}: it is a symbolic link. Remove it or choose another "
            "name."
        )
    if stat.S_ISDIR(mode):
        raise ReportWriteError(f"Cannot write {str(path)!r}: it is a directory.")
    if not stat.S_ISREG(mode):
        raise ReportWriteError(f"Refusing to write {str(path)!r}: it is not a regular file.")


def write_file(path: Path, content: Content, written_by: bytes = b"", option: str = "") -> Path:
    """Write a file the user named (``--save``, ``--export-locust``), making its directory if
    needed; any failure is a one-line :class:`ReportWriteError`.

    With ``written_by``, an existing file replaces only if its first KiB holds those bytes (it
    is an earlier file of ``option``): a typo must not turn ``settings.py`` into samples.
    """
    refuse_unless_regular(path)
    if written_by:
        refuse_unless_ours(path, written_by, option)
    try:
        make_dirs(path.parent)
        return replace_file(path.parent, path.name, content)
    except OSError as exc:
        raise ReportWriteError(f"Cannot write {str(path)!r}: {exc.strerror or exc}.") from exc


def refuse_unless_ours(path: Path, written_by: bytes, option: str) -> None:
    try:
        with path.open("rb") as handle:
            head = handle.read(1024)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ReportWriteError(f"Cannot write {str(path)!r}: {exc.strerror or exc}.") from exc
    if head and written_by not in head:
        raise ReportWriteError(
            f"Refusing to replace {str(path)!r}: it exists and was not written by {option}. "
            "Remove it or choose another name."
        )


def make_dirs(path: Path, mode: int = 0o777) -> None:
    """``path.mkdir(mode, parents=True, exist_ok=True)`` without its recursion, which overflows
    Python's stack on a path a thousand directories deep (the system allows far more).
    ``mode`` is for ``path`` itself; the directories above it get the default."""
    missing = []
    current = path
    while not current.is_dir() and current.parent != current:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode if directory == path else 0o777)
        except FileExistsError:
            if not directory.is_dir():
                raise
