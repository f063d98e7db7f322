from __future__ import annotations

from django.conf.urls.i18n import i18n_patterns
from django.urls import path

from tests.testapp import views

urlpatterns = i18n_patterns(path("hello/", views.echo, name="i18n-echo"))
