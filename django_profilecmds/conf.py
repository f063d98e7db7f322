"""The ``PROFILECMDS`` setting: defaults, one cached getter, and system checks."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.signals import setting_changed

from django_profilecmds.choices import PROFILERS

DEFAULTS: dict[str, Any] = {
    "OUTPUT_DIR": "profiles",
    "PROFILER": "pyinstrument",
    "INTERVAL": 0.001,
    # Extra regular expressions for names whose values are masked in reports and output.
    "REDACT_NAMES": [],
    # Extra regular expressions for values masked wherever they appear (a key format).
    "REDACT_PATTERNS": [],
}
TYPES: dict[str, type | tuple[type, ...]] = {
    "OUTPUT_DIR": str,
    "PROFILER": str,
    "INTERVAL": (int, float),
    "REDACT_NAMES": (list, tuple),
    "REDACT_PATTERNS": (list, tuple),
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
    for key in ("REDACT_NAMES", "REDACT_PATTERNS"):
        for pattern in value.get(key, ()) if isinstance(value.get(key), (list, tuple)) else ():
            problem = _regex_problem(pattern)
            if problem:
                errors.append(
                    Error(
                        f"PROFILECMDS[{key!r}] has an invalid regular expression "
                        f"{pattern!r}: {problem}.",
                        id="profilecmds.E005",
                    )
                )
    if value.get("PROFILER", "pyinstrument") not in PROFILERS:
        errors.append(
            Error(
                f"PROFILECMDS['PROFILER'] must be one of {', '.join(PROFILERS)}.",
                id="profilecmds.E004",
            )
        )
    return errors


def _regex_problem(pattern: object) -> str:
    import re

    if not isinstance(pattern, str):
        return "not a string"
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    return ""
