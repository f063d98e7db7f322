"""The demo project with django-silk recording every request (``bench_other_tools``)."""

from __future__ import annotations

from demo_site.settings import *  # noqa: F403
from demo_site.settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "silk"]
# First, as silk's documentation asks: no middleware before it may answer without it.
MIDDLEWARE = ["silk.middleware.SilkyMiddleware", *MIDDLEWARE]
# Silk's own pages, which its middleware looks up to leave them out of what it records.
ROOT_URLCONF = "benchmarks.urls"
SILKY_PYTHON_PROFILER = False
