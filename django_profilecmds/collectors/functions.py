"""Per-function statistics from cProfile, accumulated over every counted run."""

from __future__ import annotations

import cProfile
from types import FrameType
from typing import TYPE_CHECKING

from django_profilecmds.exceptions import ProfileCmdsError

if TYPE_CHECKING:
    import pstats


class FunctionStatsCollector:
    def __init__(self) -> None:
        self.profile = cProfile.Profile()
        self.used = False

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

    def stats(self) -> pstats.Stats:
        """What cProfile measured, as ``pstats`` reads it."""
        import pstats

        return pstats.Stats(self.profile)
