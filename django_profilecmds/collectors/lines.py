"""Per-line timings from line_profiler, for the functions resolved from the targets."""

from __future__ import annotations

import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from line_profiler.line_profiler import LineStats

# (filename, first line, function name): line_profiler's key for a function's timings.
LineKey = tuple[str, int, str]


def line_key(code: types.CodeType) -> LineKey:
    return (code.co_filename, code.co_firstlineno, code.co_name)


class LineCollector:
    def __init__(self, functions: list[types.FunctionType]) -> None:
        from line_profiler import LineProfiler

        self.profiler = LineProfiler()
        for function in functions:
            self.profiler.add_function(function)
        # line_profiler may give a function a new code object: map the one that will run.
        self.codes: dict[types.CodeType, LineKey] = {
            function.__code__: line_key(function.__code__) for function in functions
        }

    def start(self, frame: types.FrameType | None) -> None:
        self.profiler.enable_by_count()

    def stop(self) -> None:
        self.profiler.disable_by_count()

    def stats(self) -> LineStats:
        return self.profiler.get_stats()

    def dump(self, path: str) -> None:
        self.profiler.dump_stats(path)
