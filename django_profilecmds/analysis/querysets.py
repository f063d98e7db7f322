"""Where a class-based view builds the queryset that its rows, and so its N+1s, come from."""

from __future__ import annotations

from typing import Any


def queryset_home(view: Any) -> tuple[str, str] | None:
    """Where a class-based view builds the queryset its rows come from, for the hint to name:
    ``("shop.Listing", "ListingViewSet.get_queryset (shop/api.py:27)")``, or None.

    A DRF view or viewset (``as_view()`` sets ``cls``) or a Django generic view (``view_class``)
    whose ``get_queryset`` is the project's own, or whose ``queryset`` a project class sets;
    the model is the queryset's, the serializer's ``Meta.model`` or the view's ``model``.
    """
    import inspect

    from django_profilecmds.analysis.sql import describe_frame
    from django_profilecmds.projectcode import ProjectCode

    cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
    if not isinstance(cls, type):
        return None
    try:
        model = _view_model(cls)
        if model is None:
            return None
        is_project = ProjectCode()
        for klass in cls.__mro__:
            method = vars(klass).get("get_queryset")
            code = getattr(method, "__code__", None)
            if code is not None and is_project(code.co_filename):
                where = (code.co_filename, code.co_firstlineno, f"{klass.__name__}.get_queryset")
                return model._meta.label, _where(describe_frame(where))
            if "queryset" in vars(klass) and vars(klass)["queryset"] is not None:
                filename = inspect.getsourcefile(klass) or ""
                if is_project(filename):
                    line = inspect.getsourcelines(klass)[1]
                    where = (filename, line, f"{klass.__name__}.queryset")
                    return model._meta.label, _where(describe_frame(where))
    except Exception:  # a view of unusual make: the hint goes without
        return None
    return None


def _where(described: str) -> str:
    """``shop/api.py:27 in ListingViewSet.get_queryset`` -> ``ListingViewSet.get_queryset
    (shop/api.py:27)``."""
    place, _in, name = described.partition(" in ")
    return f"{name} ({place})"


def _view_model(cls: type) -> Any:
    queryset = getattr(cls, "queryset", None)
    model = getattr(queryset, "model", None)
    if model is None:
        serializer = getattr(cls, "serializer_class", None)
        model = getattr(getattr(serializer, "Meta", None), "model", None)
    if model is None:
        model = getattr(cls, "model", None)
    return model if hasattr(model, "_meta") else None
