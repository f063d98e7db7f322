"""URL resolution with helpful errors: the closest patterns when nothing matches."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.exceptions import Resolver404
from django.urls.resolvers import ResolverMatch

from django_profilecmds.exceptions import PathNotFound


def resolve_path(path: str, urlconf: str | None = None) -> ResolverMatch:
    """Resolve ``path`` (no query string) or raise :class:`PathNotFound` with suggestions.

    A language prefix (``/de/...`` under ``i18n_patterns``) is resolved in that language.
    """
    from django.conf import settings
    from django.utils import translation

    # Not cached: a profiled view may change the match it is given (its kwargs).
    resolver = get_resolver(urlconf)
    match = _match(path, resolver, translation.get_language(), settings.USE_I18N)
    if match is None:
        raise PathNotFound(path, closest_patterns(path, urlconf))
    return match


def match_path(path: str, urlconf: str | None = None) -> ResolverMatch | None:
    """The resolver match of ``path`` (no query string), or None when no pattern matches.

    Cached, as recorded traffic repeats its paths: by the resolver itself (a new one after
    ``clear_url_caches()``, another ROOT_URLCONF or a thread's own ``set_urlconf()``), by the
    active language and by USE_I18N. Callers share the match: it is not theirs to change.
    """
    from django.conf import settings
    from django.urls import get_urlconf
    from django.utils import translation

    resolver = get_resolver(urlconf or get_urlconf())
    return _cached_match(path, resolver, translation.get_language(), settings.USE_I18N)


def _match(
    path: str, resolver: URLResolver, active_language: str | None, i18n: bool
) -> ResolverMatch | None:
    from django.utils import translation

    language = translation.get_language_from_path(path) if i18n else None
    with translation.override(language or active_language):
        try:
            return resolver.resolve(path)
        except Resolver404:
            return None


_cached_match = lru_cache(maxsize=4096)(_match)


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


def find_view_url(candidates: list[Any], urlconf: str | None = None) -> str | None:
    """The first URL without arguments whose view is one of ``candidates`` (functions, possibly
    decorated, or class-based view classes), for lineprof when no --url is given."""
    import inspect

    wanted = {id(inspect.unwrap(c)) if callable(c) else id(c) for c in candidates}

    def walk(patterns: list[Any], prefix: str) -> Iterator[str]:
        for entry in patterns:
            route = _readable(str(entry.pattern))
            if isinstance(entry, URLResolver):
                if not _has_arguments(entry):
                    yield from walk(entry.url_patterns, prefix + route)
            elif isinstance(entry, URLPattern) and not _has_arguments(entry):
                callback = entry.callback
                owners = {id(inspect.unwrap(callback)), id(getattr(callback, "view_class", None))}
                if owners & wanted:
                    yield prefix + route

    return next(walk(get_resolver(urlconf).url_patterns, "/"), None)


def _has_arguments(entry: Any) -> bool:
    pattern = entry.pattern
    if getattr(pattern, "converters", None):
        return True
    regex = getattr(pattern, "regex", None)
    return bool(regex is not None and regex.groups)
