"""Middleware that costs a few milliseconds of CPU on every request.

It stands in for the audit/signing/rate-limit middleware real projects accumulate. Its cost
is what separates a full-stack profile from a `profile_view --direct` one (which calls the
view without middleware), so it needs to be big enough to see.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

GetResponse = Callable[[HttpRequest], "HttpResponseBase | Awaitable[HttpResponseBase]"]

# Tuned for roughly 3-8 ms per request on a typical laptop.
FINGERPRINT_ROUNDS = 5000

FINGERPRINT_HEADER = "X-Request-Fingerprint"

_AUDITED_META_KEYS = (
    "REMOTE_ADDR",
    "HTTP_HOST",
    "HTTP_USER_AGENT",
    "HTTP_ACCEPT",
    "HTTP_ACCEPT_LANGUAGE",
)


class RequestAuditMiddleware:
    # Both flavours, so Django never has to wrap it in a thread/loop adapter: it runs inline
    # for sync views and on the event loop for async ones.
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        fingerprint = self._fingerprint(request)
        response = self.get_response(request)
        response[FINGERPRINT_HEADER] = fingerprint
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        fingerprint = self._fingerprint(request)
        response = await self.get_response(request)
        response[FINGERPRINT_HEADER] = fingerprint
        return response

    def _fingerprint(self, request: HttpRequest) -> str:
        # Reads the session cookie rather than request.user, so the middleware itself adds no
        # database queries to the pages it wraps.
        parts = [request.method or "", request.get_full_path()]
        parts.extend(str(request.META.get(key, "")) for key in _AUDITED_META_KEYS)
        parts.append(request.COOKIES.get(settings.SESSION_COOKIE_NAME, ""))
        material = "\x1f".join(parts).encode()
        digest = b""
        # Key-stretching loop: pure per-request CPU, visible line by line in a profile.
        for _ in range(FINGERPRINT_ROUNDS):
            digest = hashlib.sha256(digest + material).digest()
        return digest.hex()[:32]
