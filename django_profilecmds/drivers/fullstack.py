"""The full stack: Django's real handler, every middleware, URL resolution, exception handling."""

from __future__ import annotations

import sys
import traceback

from asgiref.sync import async_to_sync
from django.core import signals
from django.core.handlers.base import BaseHandler
from django.core.signals import setting_changed
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from django_profilecmds.collectors import Observer
from django_profilecmds.collectors.asynctasks import mark_async_loop
from django_profilecmds.drivers.base import (
    Outcome,
    consume,
    consume_async,
    needs_request,
    view_exceptions,
)

_HANDLERS: dict[tuple[bool, tuple[str, ...]], BaseHandler] = {}


def loaded_handler(is_async: bool) -> BaseHandler:
    """A handler with the project's middleware loaded, made once per process as a server
    makes it (loading the middleware chain costs as much as a small page): every request of
    every run goes through it. A settings change (``override_settings`` in a test) makes a
    new one."""
    from django.conf import settings

    key = (is_async, tuple(settings.MIDDLEWARE))
    handler = _HANDLERS.get(key)
    if handler is None:
        handler = BaseHandler()
        handler.load_middleware(is_async=is_async)
        _HANDLERS[key] = handler
    return handler


# What the sandbox itself overrides for every run: middleware reads these per request (the
# cache middleware's ``cache`` is a property), so a change of them keeps the handlers.
SANDBOX_SETTINGS = frozenset({"CACHES", "EMAIL_BACKEND", "MAILERS"})


def _forget_handlers(*, setting: str = "", **kwargs: object) -> None:
    if setting not in SANDBOX_SETTINGS:
        _HANDLERS.clear()


setting_changed.connect(_forget_handlers, dispatch_uid="django_profilecmds.forget_handlers")


class FullStackDriver:
    """Django's real handler: every middleware, URL resolution, exception handling."""

    name = "full"
    description = "full stack"

    def __init__(self, is_async: bool) -> None:
        """``is_async``: the view is a coroutine function (see ``view_is_async``)."""
        self.is_async = is_async
        # Async views go through the handler's async path, as under ASGI, so the coroutine
        # runs where the profiler can see it; sync code still runs on this thread.
        self.handler = loaded_handler(is_async)

    def execute(self, request: HttpRequest | None, observer: Observer) -> Outcome:
        with view_exceptions() as errors:
            return self._execute(needs_request(request, self.name), observer, errors)

    def _execute(self, request: HttpRequest, observer: Observer, errors: list[str]) -> Outcome:
        try:
            signals.request_started.send(sender=self.__class__, environ=request.META)
            if self.is_async:
                response, size = async_to_sync(self._get_response_async)(request, observer)
            else:
                response, size = self._get_response(request, observer)
            response.close()  # runs resource closers and request_finished, as a server would
        except Exception:
            # Only with DEBUG_PROPAGATE_EXCEPTIONS, or from a broken streaming body.
            return Outcome(None, 0, traceback.format_exc(), request=request)
        return Outcome(response, size, errors[0] if errors else None, request=request)

    def _get_response(
        self, request: HttpRequest, observer: Observer
    ) -> tuple[HttpResponseBase, int]:
        observer.start(sys._getframe())
        try:
            response = self.handler.get_response(request)
            return response, consume(response)
        finally:
            observer.stop()

    async def _get_response_async(
        self, request: HttpRequest, observer: Observer
    ) -> tuple[HttpResponseBase, int]:
        mark_async_loop()
        observer.start(sys._getframe())
        try:
            response = await self.handler.get_response_async(request)
            return response, await consume_async(response)
        finally:
            observer.stop()
