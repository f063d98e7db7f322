"""The test project with a catch-all URL at its root, as a CMS has: every path the other
patterns leave reaches one view, ``page-serve``."""

from __future__ import annotations

from django.urls import re_path

from tests.testapp import pages
from tests.testapp.urls import urlpatterns as project_patterns

urlpatterns = [
    *project_patterns,
    re_path(r"^(?P<path>(?:[\w\-]+/)*)$", pages.serve_page, name="page-serve"),
]
