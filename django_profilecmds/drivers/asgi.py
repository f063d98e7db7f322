"""The ASGI driver: the request goes through Django's ``ASGIHandler``, as deployed under an
ASGI server, so async middleware and async views run as they do in production."""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler as DjangoASGIHandler
from django.http import HttpRequest, HttpResponse

from django_profilecmds.collectors import Observer
from django_profilecmds.collectors.asynctasks import mark_async_loop
from django_profilecmds.drivers.base import Outcome, needs_request, view_exceptions

PREVIEW_BYTES = 2000


class ASGIHandler(DjangoASGIHandler):
    """Django's own handler (what ``get_asgi_application()`` returns), with CSRF relaxed the
    way the test client relaxes it unless asked for. Named as Django's: its methods are
    Django's, and the call tree shows them by class."""

    enforce_csrf = False
    # The request of the last run, as the view had it: the driver reads who it turned out to be.
    request: HttpRequest | None = None

    def create_request(self, scope: Any, body_file: Any) -> Any:
        request, error = super().create_request(scope, body_file)
        if request is not None:
            request._dont_enforce_csrf_checks = not self.enforce_csrf  # type: ignore[attr-defined]
        self.request = request
        return request, error


def asgi_application(enforce_csrf: bool) -> tuple[Any, str]:
    """The project's ASGI_APPLICATION when it names one, else Django's handler."""
    path = getattr(settings, "ASGI_APPLICATION", None)
    if path:
        from django.utils.module_loading import import_string

        application = import_string(path)
        if not isinstance(application, DjangoASGIHandler):
            return application, path
    handler = ASGIHandler()
    handler.enforce_csrf = enforce_csrf
    return handler, "django.core.handlers.asgi.ASGIHandler"


def scope_for(request: HttpRequest) -> tuple[dict[str, Any], bytes]:
    """An HTTP scope and body equivalent to a request built by ``RequestFactory``."""
    meta = request.META
    headers = [
        (key[5:].replace("_", "-").lower().encode("latin-1"), str(value).encode("latin-1"))
        for key, value in meta.items()
        if key.startswith("HTTP_")
    ]
    for key, name in (("CONTENT_TYPE", b"content-type"), ("CONTENT_LENGTH", b"content-length")):
        if meta.get(key):
            headers.append((name, str(meta[key]).encode("latin-1")))
    path = meta["PATH_INFO"]
    secure = meta.get("wsgi.url_scheme") == "https"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": meta["REQUEST_METHOD"],
        "scheme": "https" if secure else "http",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": meta.get("QUERY_STRING", "").encode("latin-1"),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443 if secure else 80),
    }
    return scope, request.body


class AsgiDriver:
    name = "asgi"
    description = "ASGI (full stack)"

    def __init__(self, enforce_csrf: bool = False) -> None:
        self.application, self.application_path = asgi_application(enforce_csrf)

    def execute(self, request: HttpRequest | None, observer: Observer) -> Outcome:
        scope, body = scope_for(needs_request(request, self.name))
        # Sync views and sync-only middleware run here, on this thread (see below).
        observer.start_worker(sys._getframe())
        try:
            outcome: Outcome = async_to_sync(self._run)(scope, body, observer)
        finally:
            observer.stop_worker()
        return outcome

    async def _run(self, scope: dict[str, Any], body: bytes, observer: Observer) -> Outcome:
        received = False
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        preview = bytearray()
        size = 0

        async def receive() -> dict[str, Any]:
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never disconnects; cancelled at the end
            return {"type": "http.disconnect"}

        async def send(message: Mapping[str, Any]) -> None:
            nonlocal status, headers, size
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                size += len(chunk)
                preview.extend(chunk[: max(0, PREVIEW_BYTES - len(preview))])

        application = self.application
        # Django's handler is entered below its ThreadSensitiveContext so that sync code runs on
        # the calling thread, whose connections hold the sandbox's transactions.
        call = application.handle if isinstance(application, DjangoASGIHandler) else application
        error = None
        if isinstance(application, ASGIHandler):
            application.request = None
        mark_async_loop()
        with view_exceptions() as errors:
            observer.start(sys._getframe())
            try:
                await call(scope, receive, send)
            except Exception:
                error = traceback.format_exc()
            finally:
                observer.stop()
        error = error or (errors[0] if errors else None)
        # A project's own ASGI application keeps its requests to itself.
        request = application.request if isinstance(application, ASGIHandler) else None
        if not status:
            return Outcome(
                None, 0, error or "The ASGI application sent no response.", request=request
            )
        response = HttpResponse(bytes(preview), status=status)
        for name, value in headers:
            response.headers[name.decode("latin-1")] = value.decode("latin-1")
        return Outcome(response, size, error, request=request)
