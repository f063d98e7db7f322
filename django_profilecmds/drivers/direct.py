"""The view alone, as in a RequestFactory script: no middleware, the response rendered."""

from __future__ import annotations

import sys
import traceback
from importlib import import_module
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls.resolvers import ResolverMatch

from django_profilecmds.collectors import Observer
from django_profilecmds.collectors.asynctasks import mark_async_loop
from django_profilecmds.drivers.base import (
    Outcome,
    consume,
    consume_async,
    needs_request,
    view_is_async,
)
from django_profilecmds.users import Identity


class DirectDriver:
    """The view alone, as in a RequestFactory script: no middleware, response rendered."""

    name = "direct"
    description = "direct (view only, no middleware)"

    def __init__(self, match: ResolverMatch, identity: Identity | None) -> None:
        self.match = match
        self.identity = identity
        self.is_async = view_is_async(match)

    def execute(self, request: HttpRequest | None, observer: Observer) -> Outcome:
        request = needs_request(request, self.name)
        self._attach(request)
        if self.is_async:
            return async_to_sync(self._call_async)(request, observer)
        observer.start(sys._getframe())
        try:
            response = self.match.func(request, *self.match.args, **self.match.kwargs)
            response = _checked(response, self.match)
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
            size = consume(response)
            response.close()  # resource closers (open files of a FileResponse)
            return Outcome(response, size, request=request)
        except Exception:
            return Outcome(None, 0, traceback.format_exc(), request=request)
        finally:
            observer.stop()

    async def _call_async(self, request: HttpRequest, observer: Observer) -> Outcome:
        from asgiref.sync import sync_to_async

        mark_async_loop()
        observer.start(sys._getframe())
        try:
            response = await self.match.func(request, *self.match.args, **self.match.kwargs)
            response = _checked(response, self.match)
            if hasattr(response, "render") and callable(response.render):
                response = await sync_to_async(response.render)()
            return Outcome(response, await consume_async(response), request=request)
        except Exception:
            return Outcome(None, 0, traceback.format_exc(), request=request)
        finally:
            observer.stop()

    def _attach(self, request: HttpRequest) -> None:
        """What the middleware would have set: resolver match, user, session, messages."""
        from django.contrib.auth.models import AnonymousUser

        request.resolver_match = self.match
        user: Any = self.identity.user if self.identity else AnonymousUser()
        request.user = user
        request._cached_user = user  # type: ignore[attr-defined]

        async def auser() -> Any:
            return user

        request.auser = auser
        if "django.contrib.sessions" in settings.INSTALLED_APPS:
            engine: Any = import_module(settings.SESSION_ENGINE)
            key = self.identity.session_key if self.identity else None
            request.session = engine.SessionStore(key)
        if "django.contrib.messages" in settings.INSTALLED_APPS:
            from django.contrib.messages.storage import default_storage

            request._messages = default_storage(request)  # type: ignore[attr-defined]


def _checked(response: Any, match: ResolverMatch) -> HttpResponseBase:
    if not isinstance(response, HttpResponseBase):
        raise ValueError(
            f"The view {match._func_path} didn't return an HttpResponse object. "
            f"It returned {type(response).__name__} instead."
        )
    return response
