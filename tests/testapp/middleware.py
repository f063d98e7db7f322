from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse


class MarkerMiddleware:
    """Marks responses, so tests can tell whether middleware ran (not with --direct)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["X-Marker"] = "middleware-ran"
        return response


class HandlerModeMiddleware:
    """Says whether the handler ran its async chain (under ASGI) or its sync one (WSGI)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        response = self.get_response(request)
        response["X-Handler-Mode"] = "sync"
        return response

    async def __acall__(self, request: HttpRequest) -> Any:
        response = await self.get_response(request)
        response["X-Handler-Mode"] = "async"
        return response
