"""Wall-clock and CPU time of each run."""

from __future__ import annotations

import time
from types import FrameType


class TimingCollector:
    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self._wall_start = 0.0
        self._cpu_start = 0.0

    def start(self, frame: FrameType | None) -> None:
        self._cpu_start = time.process_time()
        self._wall_start = time.perf_counter()

    def stop(self) -> None:
        self.wall.append(time.perf_counter() - self._wall_start)
        self.cpu.append(time.process_time() - self._cpu_start)
