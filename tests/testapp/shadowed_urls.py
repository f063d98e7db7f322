"""A route that an earlier pattern takes: /api/me/ goes to the catch-all above it."""

from __future__ import annotations

from django.urls import path

from tests.testapp import api, views

urlpatterns = [
    path("api/<str:name>/", views.escape),
    path("api/me/", api.Me.as_view()),
]
