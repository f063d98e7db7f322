"""The files of one run in the output directory: a name no other run has (reserved with
``O_EXCL``, so runs finishing in the same second, in other processes too, never share one), each
file written by rename, the index rebuilt one run at a time, and every file of the run removed if
one cannot be written."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

from django_profilecmds.exceptions import ReportWriteError
from django_profilecmds.reports.safewrite import Content, refuse_unless_regular, replace_file


class RunFiles:
    """The files of one run in the output directory, named ``<slug>-<time>.<kind>``.

    The name is reserved by creating its ``.json`` with ``O_EXCL``, so runs finishing in the same
    second (in other processes too) never share one; each file is written by rename.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.written: list[Path] = []
        self.writing = self.base = ""

    def reserve(self, slug: str, when: datetime) -> None:
        base = f"{slug}-{when:%Y%m%d-%H%M%S}"
        candidate, counter = base, 2
        while True:
            # Files of an older version, or of a run that died, may be there without a .json.
            if not any(self.directory.glob(f"{candidate}.*")):
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                self.writing = f"{candidate}.json"
                try:
                    os.close(os.open(self.directory / self.writing, flags, 0o600))
                except FileExistsError:
                    pass
                else:
                    self.written.append(self.directory / self.writing)
                    self.base = candidate
                    return
            candidate, counter = f"{base}-{counter}", counter + 1

    def path(self, suffix: str) -> Path:
        return self.directory / f"{self.base}{suffix}"

    def write(self, suffix: str, content: Content) -> Path:
        self.writing = f"{self.base}{suffix}"
        path = replace_file(self.directory, self.writing, content)
        self.written.append(path)
        return path

    def write_index(self) -> Path:
        """Rebuild ``index.html`` from every run's JSON, one run at a time (so the last to
        finish lists them all)."""
        from django_profilecmds.reports.html import render_index

        self.writing = "index.html"
        with _directory_locked(self.directory):
            refuse_unless_regular(self.directory / "index.html")
            return replace_file(self.directory, "index.html", render_index(self.directory))

    def discard(self) -> None:
        for path in self.written:
            with suppress(OSError):
                path.unlink()


@contextmanager
def run_files(directory: Path, slug: str, when: datetime) -> Iterator[RunFiles]:
    """The files of one run; if one cannot be written, all of them are removed and the error is
    a :class:`ReportWriteError` (the index as it was before the run stays)."""
    files = RunFiles(directory)
    try:
        files.reserve(slug, when)
        yield files
    except OSError as exc:
        files.discard()
        raise ReportWriteError(
            f"Cannot write {files.writing!r} in {str(directory)!r}: {exc.strerror or exc}; "
            "no report of this run was kept."
        ) from exc
    except BaseException:
        files.discard()
        raise


@contextmanager
def _directory_locked(directory: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: no lock, and a concurrent rebuild may miss a run.
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        with suppress(OSError):  # Some network file systems cannot lock: go on unlocked.
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # which releases the lock
