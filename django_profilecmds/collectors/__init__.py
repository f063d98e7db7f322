"""Collectors observe a run and keep plain data; none of them prints.

Each has ``start(frame)`` and ``stop()``. Profilers must be started on the thread that runs the
code, so drivers call them where the work happens; ``frame`` is the driver's frame, which
profilers treat as the root of the call tree.
"""

from __future__ import annotations

from types import FrameType
from typing import Protocol


class Collector(Protocol):
    def start(self, frame: FrameType | None) -> None: ...

    def stop(self) -> None: ...


class Observer:
    """Starts collectors in order and stops them in reverse order."""

    def __init__(self, collectors: list[Collector]) -> None:
        self.collectors = collectors

    def start(self, frame: FrameType | None) -> None:
        for collector in self.collectors:
            collector.start(frame)

    def stop(self) -> None:
        for collector in reversed(self.collectors):
            collector.stop()

    def start_worker(self, frame: FrameType | None) -> None:
        """Start the profilers that also sample the thread that calls this (under ASGI, the
        one that runs sync code while the event loop runs on another)."""
        for collector in self.collectors:
            start = getattr(collector, "start_worker", None)
            if start is not None:
                start(frame)

    def stop_worker(self) -> None:
        for collector in reversed(self.collectors):
            stop = getattr(collector, "stop_worker", None)
            if stop is not None:
                stop()


NULL_OBSERVER = Observer([])
