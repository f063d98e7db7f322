from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class MarkerMiddleware:
    """Marks responses, so tests can tell whether middleware ran (not with --direct)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["X-Marker"] = "middleware-ran"
        return response
