"""Per-function statistics from cProfile, accumulated over every counted run."""

from __future__ import annotations

import cProfile
import sys
from types import FrameType
from typing import TYPE_CHECKING

from django_profilecmds.exceptions import ProfileCmdsError

if TYPE_CHECKING:
    import pstats


class FunctionStatsCollector:
    def __init__(self) -> None:
        self.profile = cProfile.Profile()
        self.used = False
        # Under ASGI the sync code runs on the driver's thread, the loop on another: before
        # Python 3.12 a cProfile sees only the thread that enabled it (from 3.12 it runs on
        # sys.monitoring, which sees every thread, and only one may be enabled).
        self.worker: cProfile.Profile | None = None

    def start(self, frame: FrameType | None) -> None:
        try:
            self.profile.enable()
        except ValueError as exc:
            # Python 3.12+: only one sys.monitoring profiler at a time.
            raise ProfileCmdsError(
                f"cProfile cannot start: {exc}. Another profiler (a debugger, coverage or "
                "line profiler) is active; run without it or use --profiler pyinstrument."
            ) from exc
        self.used = True

    def stop(self) -> None:
        self.profile.disable()

    def start_worker(self, frame: FrameType | None) -> None:
        if sys.version_info >= (3, 12):
            return
        if self.worker is None:
            self.worker = cProfile.Profile()
        self.worker.enable()

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.disable()

    def stats(self) -> pstats.Stats:
        """What cProfile measured, as ``pstats`` reads it, without the harness's own functions
        (recording queries, starting and stopping the profilers): their time stays in the
        cumulative time of the code that called them, and is shown apart as the harness's."""
        import pstats

        from django_profilecmds.collectors.calltree import OWN_DIRECTORY

        stats = pstats.Stats(self.profile)
        if self.worker is not None:
            stats.add(self.worker)
        table = stats.stats  # type: ignore[attr-defined]
        for key in [key for key in table if key[0].startswith(OWN_DIRECTORY)]:
            del table[key]
        for key, (calls, primitive, own, total, callers) in list(table.items()):
            if any(caller[0].startswith(OWN_DIRECTORY) for caller in callers):
                callers = {c: v for c, v in callers.items() if not c[0].startswith(OWN_DIRECTORY)}
                table[key] = (calls, primitive, own, total, callers)
        stats.total_tt = sum(entry[2] for entry in table.values())  # type: ignore[attr-defined]
        top_level = stats.top_level  # type: ignore[attr-defined]
        stats.top_level = {key for key in top_level if key in table}  # type: ignore[attr-defined]
        return stats
