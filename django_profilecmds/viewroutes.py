"""Which URL, and which HTTP method, reach a view named by its dotted path: for lineprof without
``--url`` and profile_view given a view instead of a path.

A view is found the ways URL configurations hold views: a function (possibly decorated), a
class-based view (``as_view()`` sets ``view_class``), a DRF ``APIView`` (``cls`` too) or a DRF
viewset (``cls`` and ``actions``, such as ``{"get": "list", "post": "create"}``). A method of
the class picks the method of the request: a viewset's action its HTTP method (``.list`` is
GET, ``.create`` POST), a handler its own name (``.post`` is POST).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from django_profilecmds.exceptions import ProfileCmdsError
from django_profilecmds.routing import match_path, pattern_forms


class NoViewRoute(ProfileCmdsError):
    """No URL without arguments routes requests to the targets; ``routes``: those that take
    arguments, or other methods."""

    def __init__(self, message: str, routes: list[ViewRoute]) -> None:
        super().__init__(message)
        self.routes = routes


@dataclass(frozen=True)
class ViewTarget:
    """A view function or class, and the method of the class a target is (``list``,
    ``get_queryset``), if it is one."""

    view: Any
    method: str | None = None


@dataclass(frozen=True)
class ViewRoute:
    """A URL pattern that reaches a target, and the methods that do, preferred first (empty:
    any method)."""

    pattern: str  # as a reader writes it: /api/books/<pk>/
    path: str | None  # a path that resolves to it, or None: the pattern takes arguments
    methods: tuple[str, ...]
    exact: bool  # the view's own class, not a subclass of the target's
    taken_by: str = ""  # the view an earlier pattern sends its path to instead

    def describe(self) -> str:
        return f"{'/'.join(self.methods) or 'any method'} {self.pattern}"


def view_targets(dotted: Sequence[str]) -> list[ViewTarget]:
    """What the dotted paths name, as views: ``shop.views.listing_list`` a function,
    ``shop.api.ListingViewSet`` a class, ``shop.api.ListingViewSet.list`` a method of one.
    Modules name no view."""
    import types

    from django_profilecmds.targets import import_dotted

    targets = []
    for path in dotted:
        obj, module = import_dotted(path)
        if isinstance(obj, types.ModuleType):
            continue
        parent, _, name = path.rpartition(".")
        if not inspect.isclass(obj) and parent != module:
            owner, _module = import_dotted(parent)
            if inspect.isclass(owner):
                targets.append(ViewTarget(owner, name))
                continue
        targets.append(ViewTarget(obj))
    return targets


def view_route(
    targets: Sequence[ViewTarget], method: str | None = None, urlconf: str | None = None
) -> tuple[str, str]:
    """The path and method of the first request that reaches one of ``targets`` (``method``
    when given, else the target's own), on the view's own class before a subclass of it.

    Raises :class:`NoViewRoute` naming the routes found when none of them can be requested
    without arguments, or with ``method``.
    """
    routes = list(routes_to(targets, urlconf))
    fitting = [r for r in routes if method is None or not r.methods or method in r.methods]
    for route in sorted((r for r in fitting if r.path is not None), key=lambda r: not r.exact):
        assert route.path is not None
        return route.path, method or (route.methods[0] if route.methods else "GET")
    if not routes:
        raise NoViewRoute("No URL without arguments routes to these targets.", routes)
    shown = fitting or routes
    more = len(shown) - 1
    also = f" (and {more} more pattern{'s' if more > 1 else ''})" if more else ""
    if not fitting:
        raise NoViewRoute(
            f"No URL routes {method} requests to these targets: {shown[0].describe()}{also}.",
            routes,
        )
    if shown[0].taken_by:
        raise NoViewRoute(
            f"No URL reaches these targets: {shown[0].describe()} is taken by an earlier "
            f"pattern, whose view is {shown[0].taken_by}{also}.",
            routes,
        )
    raise NoViewRoute(
        f"No URL without arguments routes to these targets: {shown[0].describe()} takes "
        f"arguments{also}. Give the URL with a real value for each <argument>.",
        routes,
    )


def routes_to(targets: Sequence[ViewTarget], urlconf: str | None = None) -> Iterator[ViewRoute]:
    """Every URL pattern whose view is one of ``targets``, in the order Django tries them."""

    def walk(patterns: list[Any], readable: str, concrete: str | None) -> Iterator[ViewRoute]:
        for entry in patterns:
            part, example = pattern_forms(entry.pattern)
            path = concrete + example if concrete is not None and example is not None else None
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, readable + part, path)
            elif isinstance(entry, URLPattern):
                for target in targets:
                    reached = _reaches(entry.callback, target)
                    if reached is not None:
                        methods, exact = reached
                        taken_by = _taken_by(path, entry, urlconf) if path else ""
                        usable = None if taken_by else path
                        yield ViewRoute(readable + part, usable, methods, exact, taken_by)
                        break

    return walk(get_resolver(urlconf).url_patterns, "/", "/")


def _taken_by(path: str, entry: URLPattern, urlconf: str | None) -> str:
    """The view that ``path`` resolves to when it is not ``entry``'s (an earlier pattern
    takes it), else nothing."""
    match = match_path(path, urlconf)
    if match is not None and match.func is entry.callback:
        return ""
    return match._func_path if match is not None else "none"


def _reaches(callback: Any, target: ViewTarget) -> tuple[tuple[str, ...], bool] | None:
    """The methods by which ``callback`` runs ``target``, and whether it is the target's own
    class; None when it does not run it."""
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None or not inspect.isclass(target.view):
        if target.method is None and inspect.unwrap(callback) is _unwrapped(target.view):
            return (), True
        return None
    if not issubclass(view_class, target.view):
        return None
    actions: dict[str, str] | None = getattr(callback, "actions", None)
    if actions is not None:  # a DRF viewset's route: HTTP method -> action
        methods = [m for m, action in actions.items() if action == target.method]
        if not methods and _is_action(view_class, target.method):
            return None  # another route's action (retrieve is the detail route's)
        methods = methods or list(actions)
    elif target.method in view_class.http_method_names:
        methods = [str(target.method)]
    else:
        methods = [m for m in view_class.http_method_names if hasattr(view_class, m)]
        methods = [m for m in methods if m != "options"] or methods
    return tuple(m.upper() for m in methods), view_class is target.view


# The actions of DRF's routers; @action adds a method's own (its function has a ``mapping``).
ROUTER_ACTIONS = frozenset({"list", "create", "retrieve", "update", "partial_update", "destroy"})


def _is_action(view_class: type, name: str | None) -> bool:
    if name is None:
        return False
    return name in ROUTER_ACTIONS or hasattr(getattr(view_class, name, None), "mapping")


def _unwrapped(view: Any) -> Any:
    return inspect.unwrap(view) if callable(view) else view
