"""Which frames belong to the user's project: not the standard library, installed packages,
Django or this package. Used by the origin of queries, lineprof's targets and the sandbox."""

from __future__ import annotations

import os
import sysconfig


class ProjectCode:
    """Decides, once per file and process, whether a frame belongs to the user's project."""

    # Where the standard library, installed packages, Django and this package live, and what
    # was decided per file: the same for every run of the process, so learnt once.
    _excluded: tuple[str, ...] | None = None
    _cache: dict[str, bool] = {}

    def __init__(self) -> None:
        if ProjectCode._excluded is None:
            import django

            paths = sysconfig.get_paths()
            roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
            roots |= {os.path.dirname(django.__file__), os.path.dirname(__file__)}
            ProjectCode._excluded = tuple(os.path.join(os.path.realpath(r), "") for r in roots if r)
        self.excluded = ProjectCode._excluded
        self.cache = ProjectCode._cache

    def __call__(self, filename: str) -> bool:
        known = self.cache.get(filename)
        if known is None:
            known = not filename.startswith("<") and not os.path.realpath(filename).startswith(
                self.excluded
            )
            self.cache[filename] = known
        return known
