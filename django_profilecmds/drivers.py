"""How a request reaches the code: the full Django stack, or the view called alone.

Both drivers start the collectors on the thread that runs the code (for an async view, inside
the coroutine), so pyinstrument follows awaits and its call tree starts at the driver.
"""

from __future__ import annotations

import inspect
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Protocol

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.conf import settings
from django.core import signals
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls.resolvers import ResolverMatch

from django_profilecmds.collectors import Observer
from django_profilecmds.collectors.asynctasks import mark_async_loop
from django_profilecmds.users import Identity

# The files of the code that sends the request, this module's and asgi.py's: the SQL
# collector's origin walk stops at their frames.
HARNESS_FILES = frozenset({__file__, os.path.join(os.path.dirname(__file__), "asgi.py")})


@dataclass
class Outcome:
    """What one run produced."""

    response: HttpResponseBase | None
    body_size: int
    error: str | None = None
    returned: str = ""  # what a called function returned, summarised
    output: dict[str, str] | None = None  # a management command's stdout and stderr


class Driver(Protocol):
    """How the work reaches the code: ``execute`` runs it once under ``observer``."""

    name: str
    description: str

    def execute(self, request: Any, observer: Observer) -> Outcome: ...


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


class FullStackDriver:
    """Django's real handler: every middleware, URL resolution, exception handling."""

    name = "full"
    description = "full stack"

    def __init__(self, match: ResolverMatch) -> None:
        self.is_async = view_is_async(match)
        # Async views go through the handler's async path, as under ASGI, so the coroutine
        # runs where the profiler can see it; sync code still runs on this thread.
        self.handler = BaseHandler()
        self.handler.load_middleware(is_async=self.is_async)

    def execute(self, request: HttpRequest, observer: Observer) -> Outcome:
        with view_exceptions() as errors:
            return self._execute(request, observer, errors)

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
            return Outcome(None, 0, traceback.format_exc())
        return Outcome(response, size, errors[0] if errors else None)

    def _get_response(self, request: HttpRequest, observer: Observer) -> tuple[Any, int]:
        observer.start(sys._getframe())
        try:
            response = self.handler.get_response(request)
            return response, consume(response)
        finally:
            observer.stop()

    async def _get_response_async(
        self, request: HttpRequest, observer: Observer
    ) -> tuple[Any, int]:
        mark_async_loop()
        observer.start(sys._getframe())
        try:
            response = await self.handler.get_response_async(request)
            return response, await consume_async(response)
        finally:
            observer.stop()


class DirectDriver:
    """The view alone, as in a RequestFactory script: no middleware, response rendered."""

    name = "direct"
    description = "direct (view only, no middleware)"

    def __init__(self, match: ResolverMatch, identity: Identity | None) -> None:
        self.match = match
        self.identity = identity
        self.is_async = view_is_async(match)

    def execute(self, request: HttpRequest, observer: Observer) -> Outcome:
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
            return Outcome(response, size)
        except Exception:
            return Outcome(None, 0, traceback.format_exc())
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
            return Outcome(response, await consume_async(response))
        except Exception:
            return Outcome(None, 0, traceback.format_exc())
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


class CallDriver:
    """Any importable callable, sync or async, with JSON arguments (no request at all)."""

    name = "call"
    description = "call"

    def __init__(self, function: Any, args: list[Any], kwargs: dict[str, Any]) -> None:
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.is_async = iscoroutinefunction(function)

    def execute(self, request: Any, observer: Observer) -> Outcome:
        if self.is_async:
            return async_to_sync(self._call_async)(observer)
        observer.start(sys._getframe())
        try:
            value = self.function(*self.args, **self.kwargs)
            if inspect.isgenerator(value):
                value = list(value)  # a generator's body runs only when consumed
            return Outcome(None, 0, returned=f"returned {summarise_value(value)}")
        except Exception:
            return Outcome(None, 0, traceback.format_exc())
        finally:
            observer.stop()

    async def _call_async(self, observer: Observer) -> Outcome:
        mark_async_loop()
        observer.start(sys._getframe())
        try:
            value = await self.function(*self.args, **self.kwargs)
            return Outcome(None, 0, returned=f"returned {summarise_value(value)}")
        except Exception:
            return Outcome(None, 0, traceback.format_exc())
        finally:
            observer.stop()


# Commands that serve or wait for a person, never returning on their own.
NEVER_RETURN = frozenset(
    {"runserver", "testserver", "shell", "dbshell", "runserver_plus", "shell_plus", "runworker"}
)


class CommandDriver:
    """Another management command, through ``call_command``, its output captured."""

    name = "command"
    description = "management command"

    def __init__(self, name: str, args: list[str]) -> None:
        from django.core.management import get_commands

        from django_profilecmds.exceptions import InvalidOption

        commands = get_commands()
        if name not in commands:
            import difflib

            close = difflib.get_close_matches(name, list(commands), n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise InvalidOption(f"Unknown management command {name!r}.{hint}")
        if name in NEVER_RETURN or name.startswith("profile_") or name == "lineprof":
            raise InvalidOption(
                f"profile_command cannot profile {name!r}: it "
                + ("never returns." if name in NEVER_RETURN else "is a profiling command itself.")
            )
        self.command = name
        self.args = args

    def execute(self, request: Any, observer: Observer) -> Outcome:
        """Run the command once. A prompt fails at once: :class:`InteractiveInput`."""
        import io

        from django.core.management import call_command
        from django.core.management.base import CommandError

        from django_profilecmds.prompts import (
            InputNotAvailable,
            command_asked_for_input,
            no_interactive_input,
        )

        stdout, stderr = io.StringIO(), io.StringIO()
        error = None
        observer.start(sys._getframe())
        try:
            with no_interactive_input():
                call_command(self.command, *self.args, stdout=stdout, stderr=stderr)
        except InputNotAvailable as exc:
            raise command_asked_for_input(self.command, exc) from exc
        except CommandError as exc:
            error = f"CommandError: {exc}"
        except SystemExit as exc:
            error = f"The command exited with status {exc.code}." if exc.code else None
        except Exception:
            error = traceback.format_exc()
        finally:
            observer.stop()
        output = {"stdout": stdout.getvalue(), "stderr": stderr.getvalue()}
        lines = output["stdout"].count("\n")
        finished = f"finished with {lines} line{'' if lines == 1 else 's'} of output"
        return Outcome(None, 0, error, returned=finished, output=output)


def summarise_value(value: Any) -> str:
    """``dict with 139 items``, ``int``, ``QuerySet with 20 items``: type and size only."""
    kind = type(value).__name__
    if value is None:
        return "None"
    if hasattr(value, "query") and hasattr(value, "model"):
        return f"{kind} of {value.model.__name__} (not evaluated)"
    try:
        size = len(value)
    except Exception:
        return kind
    return f"{kind} with {size} item{'' if size == 1 else 's'}"


def make_driver(
    name: str, match: ResolverMatch, identity: Identity | None, enforce_csrf: bool = False
) -> Driver:
    if name == "direct":
        return DirectDriver(match, identity)
    if name == "asgi":
        from django_profilecmds.asgi import AsgiDriver

        return AsgiDriver(enforce_csrf)
    return FullStackDriver(match)
