"""Files: what the run writes through a storage goes to a throwaway overlay, removed at the end.

Every storage of ``settings.STORAGES`` and every storage a model's file field holds is covered,
each instance patched in place, so code that keeps a reference to it (``default_storage``, a
field's ``storage``) is redirected too. Reads fall through to the real storage; writes and
opens for writing go to a private directory; deletes only hide the file. With ``commit`` the
real storage is written and the names are only recorded.

Code that writes to a path it got from ``storage.path()`` with ``open()`` bypasses the storage
API and is not covered.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

WRITE_MODES = frozenset("wax+")


@dataclass
class StorageReport:
    """What the run did to one storage."""

    alias: str
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


class Overlay:
    """The patched methods of one storage instance."""

    def __init__(
        self, storage: Any, report: StorageReport, root: LazyRoot | None, index: int = 0
    ) -> None:
        self.storage = storage
        self.report = report
        self.originals: dict[str, Any] = {}
        self.own_attributes: dict[str, Any] = {}
        self.deleted: set[str] = set()
        self.root = root
        self.upper: Any = None if root is None else _upper_storage(root, index)

    def reset(self) -> None:
        """Forget a finished run's files: the next run sees the real storage again, as it
        sees the database as it was."""
        self.deleted.clear()
        if self.root is not None and self.root.made:
            shutil.rmtree(self.upper.location, ignore_errors=True)

    def install(self) -> None:
        methods: tuple[str, ...] = ("_save", "delete", "_open")
        if self.upper is not None:
            methods += (
                "exists", "listdir", "size", "path",
                "get_accessed_time", "get_created_time", "get_modified_time",
            )  # fmt: skip
        for name in methods:
            if not hasattr(self.storage, name):
                continue
            if name in vars(self.storage):
                self.own_attributes[name] = vars(self.storage)[name]
            self.originals[name] = getattr(self.storage, name)
            setattr(self.storage, name, getattr(self, f"_{name.lstrip('_')}"))

    def uninstall(self) -> None:
        for name in self.originals:
            if name in self.own_attributes:
                setattr(self.storage, name, self.own_attributes[name])
            else:
                vars(self.storage).pop(name, None)

    def _note_written(self, name: str) -> None:
        self.deleted.discard(name)
        if name not in self.report.written:
            self.report.written.append(name)

    def _in_upper(self, name: str) -> bool:
        """A file the run wrote (a directory is never redirected: the real one is listed)."""
        return self.root is not None and self.root.made and os.path.isfile(self.upper.path(name))

    # The patched methods.
    def _save(self, name: str, content: Any) -> str:
        if self.upper is None:
            saved = str(self.originals["_save"](name, content))
        else:
            saved = str(self.upper._save(name, content))
        self._note_written(saved)
        return saved

    def _open(self, name: str, mode: str = "rb") -> Any:
        if self.upper is None:
            if WRITE_MODES & set(mode):
                self._note_written(name)
            return self.originals["_open"](name, mode)
        if self._in_upper(name):
            if WRITE_MODES & set(mode):
                self._note_written(name)
            return self.upper._open(name, mode)
        if WRITE_MODES & set(mode):
            target = self.upper.path(name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if name not in self.deleted and "w" not in mode and self.originals["exists"](name):
                with self.originals["_open"](name, "rb") as source, open(target, "wb") as copy:
                    shutil.copyfileobj(source, copy)
            self._note_written(name)
            return self.upper._open(name, mode)
        if name in self.deleted:
            raise FileNotFoundError(name)
        return self.originals["_open"](name, mode)

    def _delete(self, name: str) -> None:
        if self.upper is None:
            self.originals["delete"](name)
        else:
            if self._in_upper(name):
                self.upper.delete(name)
            if name in self.report.written:
                self.report.written.remove(name)
            if self.originals["exists"](name):
                self.deleted.add(name)
        if name not in self.report.deleted:
            self.report.deleted.append(name)

    def _exists(self, name: str) -> bool:
        if self._in_upper(name):
            return True
        return name not in self.deleted and bool(self.originals["exists"](name))

    def _listdir(self, path: str) -> tuple[list[str], list[str]]:
        directories: list[str] = []
        files: list[str] = []
        with suppress(FileNotFoundError):
            directories, files = (list(part) for part in self.originals["listdir"](path))
        prefix = f"{path.rstrip('/')}/" if path.strip("/") else ""
        files = [name for name in files if f"{prefix}{name}" not in self.deleted]
        if self.root is not None and self.root.made and os.path.isdir(self.upper.path(path or "")):
            upper_dirs, upper_files = self.upper.listdir(path)
            directories += [name for name in upper_dirs if name not in directories]
            files += [name for name in upper_files if name not in files]
        return directories, files

    def _either(self, method: str, name: str) -> Any:
        if self._in_upper(name):
            return getattr(self.upper, method)(name)
        if name in self.deleted:
            raise FileNotFoundError(name)
        return self.originals[method](name)

    def _size(self, name: str) -> int:
        return int(self._either("size", name))

    def _path(self, name: str) -> str:
        return str(self.upper.path(name) if self._in_upper(name) else self.originals["path"](name))

    def _get_accessed_time(self, name: str) -> Any:
        return self._either("get_accessed_time", name)

    def _get_created_time(self, name: str) -> Any:
        return self._either("get_created_time", name)

    def _get_modified_time(self, name: str) -> Any:
        return self._either("get_modified_time", name)


def _storages() -> list[tuple[str, Any]]:
    """Every storage instance the project uses, once each, named by alias or field."""
    from django.apps import apps
    from django.conf import settings
    from django.core.files.storage import storages
    from django.db.models import FileField
    from django.utils.functional import LazyObject, empty

    found: dict[int, tuple[str, Any]] = {}

    def add(name: str, storage: Any) -> None:
        if isinstance(storage, LazyObject):
            if storage._wrapped is empty:
                try:
                    storage._setup()
                except Exception:  # misconfigured: nothing can be written through it
                    return
            storage = storage._wrapped
        found.setdefault(id(storage), (name, storage))

    for alias in getattr(settings, "STORAGES", {}):
        try:
            storage = storages[alias]
        except Exception:  # misconfigured (no STATIC_URL...): the run cannot write to it either
            continue
        add(alias, storage)
    for model in apps.get_models():
        for model_field in model._meta.get_fields():
            if isinstance(model_field, FileField):
                add(f"{model._meta.label}.{model_field.name}", model_field.storage)
    return list(found.values())


class Overlays(list[StorageReport]):
    """What every overlaid storage was asked to do (names written and deleted, over all runs);
    ``reset()`` discards the files of the run that ended."""

    def __init__(self) -> None:
        super().__init__()
        self.overlays: list[Overlay] = []

    def reset(self) -> None:
        for made in self.overlays:
            made.reset()


class LazyRoot:
    """The throwaway directory of a command's overlays, made (private, by ``mkdtemp``) by the
    first write: most runs write no file, and making and removing it cost more than a small
    page's request."""

    def __init__(self) -> None:
        self.directory: str | None = None

    @property
    def made(self) -> bool:
        return self.directory is not None

    def path(self) -> str:
        if self.directory is None:
            self.directory = tempfile.mkdtemp(prefix="profilecmds-files-")
        return self.directory

    def remove(self) -> None:
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


def _upper_storage(root: LazyRoot, index: int) -> Any:
    """A FileSystemStorage in ``root``'s directory ``index``, which reading its location
    makes."""
    from django.core.files.storage import FileSystemStorage
    from django.utils.functional import cached_property

    class Upper(FileSystemStorage):
        @cached_property
        def base_location(self) -> str:
            return os.path.join(root.path(), str(index))

    return Upper()


@contextmanager
def overlay_storages(*, commit: bool = False) -> Iterator[Overlays]:
    """Writes through every storage go to a throwaway directory (recorded only with commit):
    the storages the project has, and every one made while the run lasts (a view's
    ``FileSystemStorage()``, ``storages.create_storage(...)``)."""
    root = None if commit else LazyRoot()
    reports = Overlays()
    overlays = reports.overlays
    making_upper = threading.local()

    def overlay(name: str, storage: Any) -> None:
        making_upper.active = True
        try:
            made = Overlay(storage, StorageReport(name), root, len(overlays))
        finally:
            making_upper.active = False
        made.install()
        overlays.append(made)
        reports.append(made.report)

    def overlaid(cls: type, *args: Any, **kwargs: Any) -> Any:
        instance: Any = object.__new__(cls)
        if not getattr(making_upper, "active", False):
            overlay(f"{cls.__name__} made during the run", instance)
        return instance

    from django.core.files.storage import Storage

    try:
        for name, storage in _storages():
            overlay(name, storage)
        Storage.__new__ = staticmethod(overlaid)  # type: ignore[method-assign]
        try:
            yield reports
        finally:
            del Storage.__new__
    finally:
        for made in reversed(overlays):
            made.uninstall()
        if root is not None:
            root.remove()
