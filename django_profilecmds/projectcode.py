"""Which frames belong to the user's project: not the standard library, installed packages,
Django or this package. Used by the origin of queries, lineprof's targets and the sandbox."""

from __future__ import annotations

import os
import sysconfig


class ProjectCode:
    """Decides, once per file, whether a frame belongs to the user's project."""

    def __init__(self) -> None:
        import django

        paths = sysconfig.get_paths()
        roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
        # This module's directory is the package's.
        roots |= {os.path.dirname(django.__file__), os.path.dirname(__file__)}
        self.excluded = tuple(os.path.join(os.path.realpath(r), "") for r in roots if r)
        self.cache: dict[str, bool] = {}

    def __call__(self, filename: str) -> bool:
        known = self.cache.get(filename)
        if known is None:
            known = not filename.startswith("<") and not os.path.realpath(filename).startswith(
                self.excluded
            )
            self.cache[filename] = known
        return known
