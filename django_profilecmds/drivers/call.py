"""Any importable callable, sync or async, with JSON arguments: no request at all."""

from __future__ import annotations

import inspect
import sys
import traceback
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.http import HttpRequest

from django_profilecmds.collectors import Observer
from django_profilecmds.collectors.asynctasks import mark_async_loop
from django_profilecmds.drivers.base import Outcome


class CallDriver:
    """Any importable callable, sync or async, with JSON arguments (no request at all)."""

    name = "call"
    description = "call"

    def __init__(
        self, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]
    ) -> None:
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.is_async = iscoroutinefunction(function)

    def execute(self, request: HttpRequest | None, observer: Observer) -> Outcome:
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
