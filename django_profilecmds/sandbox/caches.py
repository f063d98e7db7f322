"""Caches: ``isolate_caches()`` puts an in-memory cache in place of every alias for the run.

Without it the run uses the project's caches, whose writes no rollback undoes: the cache
collector counts them so the summary can say so.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

LOCMEM_CACHE_BACKEND = "django.core.cache.backends.locmem.LocMemCache"
# Options every backend understands; backend-specific OPTIONS stay with the real cache.
SHARED_OPTIONS = ("TIMEOUT", "KEY_PREFIX", "VERSION", "KEY_FUNCTION")


@contextmanager
def isolate_caches() -> Iterator[None]:
    """Every ``CACHES`` alias becomes an empty private in-memory cache (same timeout, key
    prefix and version), through ``override_settings`` as Django's own tests do."""
    from django.conf import settings
    from django.test.utils import override_settings

    run = uuid.uuid4().hex
    stand_ins = {
        alias: {
            "BACKEND": LOCMEM_CACHE_BACKEND,
            "LOCATION": f"profilecmds-{run}-{alias}",
            **{key: config[key] for key in SHARED_OPTIONS if key in config},
        }
        for alias, config in settings.CACHES.items()
    }
    with override_settings(CACHES=stand_ins):
        yield
