"""URL resolution with helpful errors: the closest patterns when nothing matches."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.exceptions import Resolver404
from django.urls.resolvers import ResolverMatch

from django_profilecmds.exceptions import PathNotFound


def resolve_path(path: str, urlconf: str | None = None) -> ResolverMatch:
    """Resolve ``path`` (no query string) or raise :class:`PathNotFound` with suggestions."""
    try:
        return get_resolver(urlconf).resolve(path)
    except Resolver404:
        raise PathNotFound(path, closest_patterns(path, urlconf)) from None


def closest_patterns(path: str, urlconf: str | None = None, limit: int = 5) -> list[str]:
    patterns = list(dict.fromkeys(iter_patterns(get_resolver(urlconf).url_patterns)))
    with_slash = path if path.endswith("/") else path + "/"
    if with_slash in patterns and with_slash != path:
        return [with_slash]
    return difflib.get_close_matches(path, patterns, n=limit, cutoff=0.5)


def iter_patterns(patterns: list[Any], prefix: str = "/") -> Iterator[str]:
    """Every routable pattern as a readable path, such as ``/listings/<int:pk>/``."""
    for entry in patterns:
        part = _readable(str(entry.pattern))
        if isinstance(entry, URLResolver):
            yield from iter_patterns(entry.url_patterns, prefix + part)
        elif isinstance(entry, URLPattern):
            yield prefix + part


def _readable(pattern: str) -> str:
    return re.sub(r"^\^|\$$|\\Z$", "", pattern).replace("\\", "")
