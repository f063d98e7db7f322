"""Every cache operation on every alias: gets (hits and misses), sets, deletes and their time.

Each cache instance is patched in place, the ones already made and every one ``caches`` makes
while the collector is installed (caches are per thread). A backend whose methods call each
other (``get_or_set`` calling ``get`` and ``add``) is counted once, at the outermost call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

_MISS = object()
READS = ("get", "get_many", "has_key", "get_or_set")
SETS = ("set", "add", "touch", "incr", "decr", "set_many")
DELETES = ("delete", "delete_many", "clear")


@dataclass
class CacheStats:
    alias: str
    backend: str
    gets: int = 0
    hits: int = 0
    misses: int = 0
    sets: int = 0
    deletes: int = 0
    time: float = 0.0  # seconds

    @property
    def operations(self) -> int:
        return self.gets + self.sets + self.deletes


class CacheCollector:
    def __init__(self) -> None:
        self.stats: dict[str, CacheStats] = {}
        self.recording = False
        self._local = threading.local()
        self._patched: list[tuple[Any, list[str]]] = []

    def start(self, frame: FrameType | None) -> None:
        self.recording = True

    def stop(self) -> None:
        self.recording = False

    def totals(self) -> list[CacheStats]:
        return [stats for stats in self.stats.values() if stats.operations]

    @contextmanager
    def installed(self) -> Iterator[None]:
        from django.core.cache import caches

        original = caches.create_connection

        def create_connection(alias: str) -> Any:
            cache = original(alias)
            self._patch(alias, cache)
            return cache

        caches.create_connection = create_connection  # type: ignore[method-assign]
        for alias in caches.settings:
            existing = getattr(caches._connections, alias, None)  # type: ignore[attr-defined]
            if existing is not None:
                self._patch(alias, existing)
        try:
            yield
        finally:
            vars(caches).pop("create_connection", None)
            for cache, names in self._patched:
                for name in names:
                    vars(cache).pop(name, None)
            self._patched.clear()

    def _patch(self, alias: str, cache: Any) -> None:
        stats = self.stats.setdefault(alias, CacheStats(alias, type(cache).__name__))
        originals = {
            name: getattr(cache, name)
            for name in (*READS, *SETS, *DELETES)
            if hasattr(cache, name) and name not in vars(cache)
        }
        for name in originals:
            setattr(cache, name, self._wrap(name, originals, stats))
        self._patched.append((cache, list(originals)))

    def _wrap(
        self, name: str, originals: dict[str, Callable[..., Any]], stats: CacheStats
    ) -> Callable[..., Any]:
        local = self._local
        method = originals[name]

        def counted(*args: Any, **kwargs: Any) -> Any:
            if not self.recording or getattr(local, "inside", False):
                return method(*args, **kwargs)
            local.inside = True
            started = time.perf_counter()
            try:
                return self._count(name, originals, stats, args, kwargs)
            finally:
                stats.time += time.perf_counter() - started
                local.inside = False

        return counted

    def _count(
        self,
        name: str,
        originals: dict[str, Callable[..., Any]],
        stats: CacheStats,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        method = originals[name]
        if name in ("get", "get_or_set"):
            # get(key, default=None, version=None); get_or_set(key, default, timeout, version)
            at = 2 if name == "get" else 3
            key = args[0] if args else kwargs.get("key")
            version = kwargs.get("version", args[at] if len(args) > at else None)
            value = originals["get"](key, _MISS, version=version)
            stats.gets += 1
            if value is not _MISS:
                stats.hits += 1
                return value
            stats.misses += 1
            if name == "get":
                return args[1] if len(args) > 1 else kwargs.get("default")
            stats.sets += 1  # get_or_set adds the value it computed
            return method(*args, **kwargs)
        if args and name in ("get_many", "delete_many"):
            args = (list(args[0]), *args[1:])
        value = method(*args, **kwargs)
        if name == "get_many":
            asked = len(args[0]) if args else 0
            stats.gets += asked
            stats.hits += len(value)
            stats.misses += asked - len(value)
        elif name == "has_key":
            stats.gets += 1
            stats.hits += bool(value)
            stats.misses += not value
        elif name == "set_many":
            stats.sets += len(args[0]) if args else 1
        elif name in SETS:
            stats.sets += 1
        elif name == "delete_many":
            stats.deletes += len(args[0]) if args else 1
        else:
            stats.deletes += 1
        return value
