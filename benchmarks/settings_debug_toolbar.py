"""The demo project with django-debug-toolbar and its default panels (``bench_other_tools``)."""

from __future__ import annotations

from demo_site.settings import *  # noqa: F403
from demo_site.settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "debug_toolbar"]
# As early as the toolbar's documentation asks (the demo encodes no response).
MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware", *MIDDLEWARE]
ROOT_URLCONF = "benchmarks.urls"
DEBUG = True
# RequestFactory's requests come from 127.0.0.1: the toolbar shows for them.
INTERNAL_IPS = ["127.0.0.1"]
