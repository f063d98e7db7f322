from __future__ import annotations

from django.apps import AppConfig


class ProfileCmdsConfig(AppConfig):
    name = "django_profilecmds"
    verbose_name = "Profiling commands"

    def ready(self) -> None:
        from django_profilecmds import conf  # noqa: F401  (registers the system checks)
