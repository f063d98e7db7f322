"""Wall-clock and CPU time of each run.

``cpu`` is the process's CPU time (every thread of it); ``thread_cpu`` is the CPU time of the
threads that ran the request, which the load of other processes on the machine does not
inflate the way it inflates wall time. Those threads are the one that starts the collector
and, when that is another (the event loop's, under ``async_to_sync``), the thread that made the
collector: the driver's, where Django runs sync code through ``sync_to_async`` (thread
sensitive). Sync code that asgiref sends to its thread pool (``thread_sensitive=False``) is not
counted; nor is the driver's thread where the platform cannot read another thread's CPU clock
(``time.pthread_getcpuclockid``, missing on macOS).
"""

from __future__ import annotations

import threading
import time
from types import FrameType


class TimingCollector:
    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.thread_cpu: list[float] = []
        self._wall_start = 0.0
        self._cpu_start = 0.0
        self._thread_start = 0.0
        self._home = threading.get_ident()  # the driver's thread: made where the run is sent

    def start(self, frame: FrameType | None) -> None:
        self._cpu_start = time.process_time()
        self._thread_start = self._threads_cpu()
        self._wall_start = time.perf_counter()

    def stop(self) -> None:
        self.wall.append(time.perf_counter() - self._wall_start)
        self.thread_cpu.append(self._threads_cpu() - self._thread_start)
        self.cpu.append(time.process_time() - self._cpu_start)

    def clear(self) -> None:
        del self.wall[:], self.cpu[:], self.thread_cpu[:]

    def _threads_cpu(self) -> float:
        """CPU seconds of this thread, plus the driver's thread when this is another."""
        own = time.thread_time()
        if threading.get_ident() == self._home:
            return own
        try:
            clock = time.pthread_getcpuclockid(self._home)
            return own + time.clock_gettime(clock)
        except (AttributeError, OSError):  # no per-thread clocks of other threads here
            return own
