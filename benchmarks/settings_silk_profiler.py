"""The demo project with django-silk recording every request under cProfile as well."""

from __future__ import annotations

from benchmarks.settings_silk import *  # noqa: F403

SILKY_PYTHON_PROFILER = True
