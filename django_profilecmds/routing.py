"""URL resolution with helpful errors: the closest patterns when nothing matches."""

from __future__ import annotations

import difflib
import re
import sys
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
    """Every routable pattern as a readable path, such as ``/listings/<int:pk>/`` (a regex
    route's too: ``^api/books/(?P<pk>[^/.]+)/$`` is ``/api/books/<pk>/``)."""
    for entry in patterns:
        part, _concrete = pattern_forms(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from iter_patterns(entry.url_patterns, prefix + part)
        elif isinstance(entry, URLPattern):
            yield prefix + part


def pattern_forms(pattern: Any) -> tuple[str, str | None]:
    """One URL pattern's part of a path: as a reader would write it (``books/<pk>/``), and as
    a concrete path it matches (None when it takes arguments, or when none can be formed).

    A regex loses its anchors and its optional characters (``^api/tags/?$`` is ``api/tags``);
    a capturing group is an argument, written ``<name>``.
    """
    from django.urls.resolvers import RegexPattern

    if isinstance(pattern, RegexPattern):
        return _regex_forms(str(pattern))
    text = str(pattern)
    if getattr(pattern, "converters", None):
        return text, None
    regex = getattr(pattern, "regex", None)
    return text, None if regex is not None and regex.groups else text


def _regex_forms(regex: str) -> tuple[str, str | None]:
    if sys.version_info >= (3, 11):
        from re import _parser as sre_parse  # type: ignore[attr-defined]
    else:
        import sre_parse
    try:
        parsed = sre_parse.parse(regex)
    except re.error:
        return regex, None
    names = {number: name for name, number in parsed.state.groupdict.items()}
    try:
        readable = _example(parsed, names)
    except _NoExample:
        return re.sub(r"^\^|\$$|\\Z$", "", regex).replace("\\", ""), None
    return readable, None if parsed.state.groups > 1 else readable


class _NoExample(Exception):
    """A regex construct no example text is made for (a lookaround, a backreference)."""


def _example(items: Any, names: dict[int, str]) -> str:
    """Text that ``items`` (a parsed regex) matches: the shortest repeat, the first branch,
    a character each class allows; a capturing group as ``<name>``."""
    text = []
    for op, value in items:
        kind = str(op)
        if kind == "LITERAL":
            text.append(chr(value))
        elif kind == "AT":
            continue
        elif kind == "SUBPATTERN":
            group, _add, _remove, inner = value
            text.append(f"<{names.get(group, 'arg')}>" if group else _example(inner, names))
        elif kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, inner = value
            text.append(_example(inner, names) * low)
        elif kind == "BRANCH":
            text.append(_example(value[1][0], names))
        elif kind == "ATOMIC_GROUP":
            text.append(_example(value, names))
        elif kind == "IN":
            text.append(_allowed_character(value))
        elif kind == "NOT_LITERAL":
            text.append("a" if value != ord("a") else "b")
        elif kind == "ANY":
            text.append("a")
        else:
            raise _NoExample(kind)
    return "".join(text)


def _allowed_character(items: Any) -> str:
    """A character a class such as ``[a-z0-9]`` or ``\\d`` allows (checked by resolving)."""
    kinds = [(str(op), value) for op, value in items]
    if kinds and kinds[0][0] == "NEGATE":
        excluded = {value for kind, value in kinds if kind == "LITERAL"}
        return next(c for c in "a0b1" if ord(c) not in excluded)
    kind, value = kinds[0]
    if kind == "LITERAL":
        return chr(value)
    if kind == "RANGE":
        return chr(value[0])
    return "0" if "DIGIT" in str(value) and "NOT" not in str(value) else "a"
