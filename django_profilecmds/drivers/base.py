"""What every driver shares: the :class:`Driver` protocol, the :class:`Outcome` of one run, and
reading a response's body as a server would."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from asgiref.sync import iscoroutinefunction
from django.core import signals
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls.resolvers import ResolverMatch

from django_profilecmds.collectors import Observer


@dataclass
class Outcome:
    """What one run produced."""

    response: HttpResponseBase | None
    body_size: int
    error: str | None = None
    returned: str = ""  # what a called function returned, summarised
    output: dict[str, str] | None = None  # a management command's stdout and stderr
    # The request as the view had it (a request driver's), read for who it turned out to be.
    request: HttpRequest | None = None


class Driver(Protocol):
    """How the work reaches the code: ``execute`` runs it once under ``observer``.

    Request drivers are given a fresh request each run; the call and command drivers, None.
    Each starts the observer's collectors on the thread that runs the code (for async code,
    inside the coroutine), so pyinstrument follows awaits and its call tree starts at the driver.
    """

    name: str
    description: str

    def execute(self, request: HttpRequest | None, observer: Observer) -> Outcome: ...


def view_is_async(match: ResolverMatch) -> bool:
    return iscoroutinefunction(match.func)


@contextmanager
def view_exceptions() -> Iterator[list[str]]:
    """Tracebacks of exceptions the handler turned into 500 responses, as they happen."""
    errors: list[str] = []

    def record(sender: Any, request: Any = None, **kwargs: Any) -> None:
        errors.append(traceback.format_exc())

    signals.got_request_exception.connect(record, weak=False)
    try:
        yield errors
    finally:
        signals.got_request_exception.disconnect(record)


def needs_request(request: HttpRequest | None, driver: str) -> HttpRequest:
    if request is None:
        raise TypeError(f"The {driver} driver sends a request: it was given none.")
    return request


def consume(response: HttpResponseBase) -> int:
    """Read the whole body (streaming bodies are generated here) and return its size."""
    if response.streaming:
        return sum(len(chunk) for chunk in response)
    return len(response.content)  # type: ignore[attr-defined]


async def consume_async(response: HttpResponseBase) -> int:
    if response.streaming:
        size = 0
        async for chunk in response:  # type: ignore[attr-defined]
            size += len(chunk)
        return size
    return len(response.content)  # type: ignore[attr-defined]
