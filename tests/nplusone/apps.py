from __future__ import annotations

from django.apps import AppConfig


class NPlusOneConfig(AppConfig):
    name = "tests.nplusone"
    label = "nplusone"
    default_auto_field = "django.db.models.AutoField"
