"""The ``PROFILECMDS`` setting: defaults, one cached getter, and system checks."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    "OUTPUT_DIR": "profiles",
    "PROFILER": "pyinstrument",
    "INTERVAL": 0.001,
    # Extra regular expressions for names whose values are masked in reports and output.
    "REDACT_NAMES": [],
}
TYPES: dict[str, type | tuple[type, ...]] = {
    "OUTPUT_DIR": str,
    "PROFILER": str,
    "INTERVAL": (int, float),
    "REDACT_NAMES": (list, tuple),
}


@lru_cache(maxsize=1)
def get_settings() -> dict[str, Any]:
    """Defaults overlaid with the project's ``PROFILECMDS`` dict."""
    return {**DEFAULTS, **getattr(settings, "PROFILECMDS", {})}


def _clear_cache(*, setting: str, **kwargs: Any) -> None:
    if setting == "PROFILECMDS":
        get_settings.cache_clear()


setting_changed.connect(_clear_cache)


@register()
def check_settings(**kwargs: Any) -> list[CheckMessage]:
    from django_profilecmds.spec import PROFILERS

    value = getattr(settings, "PROFILECMDS", {})
    if not isinstance(value, dict):
        return [Error("PROFILECMDS must be a dict.", id="profilecmds.E001")]
    errors: list[CheckMessage] = []
    for key, item in value.items():
        if key not in DEFAULTS:
            errors.append(
                Error(
                    f"Unknown PROFILECMDS key {key!r}.",
                    hint=f"Valid keys: {', '.join(sorted(DEFAULTS))}.",
                    id="profilecmds.E002",
                )
            )
        elif not isinstance(item, TYPES[key]) or isinstance(item, bool):
            errors.append(Error(f"PROFILECMDS[{key!r}] has the wrong type.", id="profilecmds.E003"))
    if value.get("PROFILER", "pyinstrument") not in PROFILERS:
        errors.append(
            Error(
                f"PROFILECMDS['PROFILER'] must be one of {', '.join(PROFILERS)}.",
                id="profilecmds.E004",
            )
        )
    return errors
