"""The demo's URLs plus those of the tools installed by the benchmark's settings module."""

from __future__ import annotations

from demo_site.urls import urlpatterns as demo_urlpatterns
from django.apps import apps
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [*demo_urlpatterns]
if apps.is_installed("silk"):
    urlpatterns.append(path("silk/", include("silk.urls", namespace="silk")))
if apps.is_installed("debug_toolbar"):
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
