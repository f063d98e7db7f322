"""Turn a :class:`RequestSpec` into real Django requests, one fresh request per run."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, RequestFactory, encode_multipart

from django_profilecmds.exceptions import HostNotAllowed
from django_profilecmds.spec import RequestSpec
from django_profilecmds.users import Identity

QUERY_METHODS = frozenset({"GET", "HEAD"})


def default_host() -> str:
    """The first concrete ALLOWED_HOSTS entry, so a stock project works without ``--host``."""
    for host in settings.ALLOWED_HOSTS:
        if host and host != "*":
            return host.lstrip(".")
    return "localhost"


class RequestBuilder:
    """Builds the same request again for every run (requests are mutable, so never reused)."""

    def __init__(self, spec: RequestSpec, identity: Identity | None = None) -> None:
        self.spec = spec
        self.identity = identity
        self.host = spec.host or default_host()
        if spec.recorded:  # as the log has it: a "#" in a logged target is part of its query
            self.path, _, query = spec.path.partition("?")
        else:
            parts = urlsplit(spec.path)
            self.path, query = parts.path, parts.query
        body: bytes | str = b""
        content_type = "application/octet-stream"
        if spec.body is not None:
            body = spec.body
            content_type = _header(spec, "Content-Type") or content_type
        elif spec.json_body is not None:
            body, content_type = spec.json_body, "application/json"
        elif spec.data and spec.method in QUERY_METHODS:
            extra = urlencode(spec.data)
            query = f"{query}&{extra}" if query else extra
        elif spec.data and spec.method == "POST":
            body, content_type = _multipart(spec.data), MULTIPART_CONTENT
        elif spec.data:
            body, content_type = urlencode(spec.data), "application/x-www-form-urlencoded"
        self.body = body
        self.content_type = content_type
        self.extra = self._extra_meta(query)
        self.factory = _factory()

    def _extra_meta(self, query: str) -> dict[str, Any]:
        headers: dict[str, str] = {}
        for name, value in self.spec.headers:
            key = name.title()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        headers.setdefault("Host", self.host)
        if self.spec.host:
            headers["Host"] = self.spec.host
        if self.identity is not None and self.identity.session_cookie:
            cookie = f"{self.identity.session_cookie}={self.identity.session_key}"
            headers["Cookie"] = f"{headers['Cookie']}; {cookie}" if "Cookie" in headers else cookie
        from django.http.request import HttpHeaders

        meta: dict[str, Any] = dict(HttpHeaders.to_wsgi_names(headers))
        meta["QUERY_STRING"] = query
        return meta

    def build(self) -> HttpRequest:
        request = self.factory.generic(
            self.spec.method,
            self.path,
            self.body,
            content_type=self.content_type,
            secure=self.spec.secure,
            **self.extra,
        )
        # Like the test client: CSRF is checked only when asked for.
        request._dont_enforce_csrf_checks = not self.spec.enforce_csrf  # type: ignore[attr-defined]
        return request

    def check_host(self) -> None:
        """Fail early, with the fix, when ALLOWED_HOSTS would reject the Host header."""
        check_host(self.build(), self.host)


@lru_cache(maxsize=1)
def _factory() -> RequestFactory:
    """One factory for every request: it keeps no state between requests (no cookies are set
    on it), and replay builds one request per recorded line."""
    return RequestFactory()


def _header(spec: RequestSpec, name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in spec.headers if key.lower() == wanted), None)


def check_host(request: HttpRequest, host: str) -> None:
    """Raise :class:`HostNotAllowed`, with the fix, when ALLOWED_HOSTS rejects the Host of
    ``request`` (``host``, unless a header such as X-Forwarded-Host overrides it)."""
    try:
        request.get_host()
    except DisallowedHost as exc:
        raise HostNotAllowed(
            f"The Host {host!r} is not in ALLOWED_HOSTS ({exc}). "
            f"Pass --host with an allowed name, e.g. --host {_suggest_host()}."
        ) from None


def _suggest_host() -> str:
    hosts = [h.lstrip(".") for h in settings.ALLOWED_HOSTS if h and h != "*"]
    return hosts[0] if hosts else "example.com (and add it to ALLOWED_HOSTS)"


def _multipart(data: tuple[tuple[str, str], ...]) -> bytes:
    grouped: dict[str, list[str]] = {}
    for key, value in data:
        grouped.setdefault(key, []).append(value)
    return encode_multipart(BOUNDARY, {k: v if len(v) > 1 else v[0] for k, v in grouped.items()})
