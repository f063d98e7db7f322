"""The template a request rendered: the first one rendered through a template backend.

A view's page (``render()``, a ``TemplateResponse``, ``get_template().render()``) is rendered
through its engine's backend, Django's or Jinja2's; what that page includes or extends is
rendered by the engine itself, underneath, and is not counted. The backends' ``render`` are
wrapped while the collector is entered (a replay grouped by template) and restored after.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any


class TemplateCollector:
    """Between ``start()`` and ``stop()``, the name of the first template rendered through a
    backend (``first``), or None when the request rendered none."""

    def __init__(self) -> None:
        self.first: str | None = None
        self._recording = False
        self._wrapped: list[tuple[type, Callable[..., Any]]] = []

    def __enter__(self) -> TemplateCollector:
        for backend_template in _backend_templates():
            original = backend_template.__dict__["render"]
            backend_template.render = self._recorder(original)  # type: ignore[attr-defined]
            self._wrapped.append((backend_template, original))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        while self._wrapped:
            backend_template, original = self._wrapped.pop()
            backend_template.render = original  # type: ignore[attr-defined]

    def start(self, frame: FrameType | None) -> None:
        self.first = None
        self._recording = True

    def stop(self) -> None:
        self._recording = False

    def _recorder(self, render: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(render)
        def recording_render(template: Any, *args: Any, **kwargs: Any) -> Any:
            if self._recording and self.first is None:
                # A template made from a string has no name: the next named one is the page.
                name = getattr(getattr(template, "origin", None), "template_name", None)
                self.first = str(name) if name else None
            return render(template, *args, **kwargs)

        return recording_render


def _backend_templates() -> list[type]:
    """The template classes of Django's backend and, when Jinja2 is installed, Jinja2's."""
    from django.template.backends.django import Template

    classes: list[type] = [Template]
    try:
        from django.template.backends.jinja2 import Template as Jinja2Template
    except ImportError:  # Jinja2 is not installed
        return classes
    classes.append(Jinja2Template)
    return classes
