"""Email: every message the run sends is kept in memory, none leaves the process.

First, as Django's own test setup does: every ``MAILERS`` alias (Django 6.1+) or
``EMAIL_BACKEND`` (older, or a 6.1 project that has not moved to ``MAILERS``) becomes the
in-memory backend. Then, for code that names a backend itself (``get_connection("...smtp...")``,
an ``EmailBackend(...)`` made by hand), every email backend class that is loaded sends into the
same outbox while the run lasts.

The outbox is the sandbox's own list: ``mail.outbox`` starts as that list, but code that gives
``mail.outbox`` a new list or deletes it (Django's test runner does both) loses no message.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

LOCMEM_EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _settings_override() -> dict[str, Any]:
    import django
    from django.conf import settings

    mailers: Any = getattr(settings, "MAILERS", None)
    if django.VERSION >= (6, 1) and mailers is not None:
        return {"MAILERS": {alias: {"BACKEND": LOCMEM_EMAIL_BACKEND} for alias in mailers}}
    return {"EMAIL_BACKEND": LOCMEM_EMAIL_BACKEND}


DJANGO_BACKENDS = ("smtp", "console", "filebased", "dummy")


def _load_backends(configured: list[str]) -> None:
    """Import Django's backends and the project's, so a class the run imports later (to make
    an ``EmailBackend(...)`` by hand) is one already patched."""
    from importlib import import_module

    from django.utils.module_loading import import_string

    for name in DJANGO_BACKENDS:
        import_module(f"django.core.mail.backends.{name}")
    for path in configured:
        with suppress(ImportError):  # Django reports it when the run sends
            import_string(path)


def _configured_backends() -> list[str]:
    from django.conf import settings

    mailers: Any = getattr(settings, "MAILERS", None)
    if mailers is not None:
        return [str(config.get("BACKEND", "")) for config in mailers.values()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [str(getattr(settings, "EMAIL_BACKEND", ""))]


def _backend_classes(configured: list[str]) -> list[type]:
    from django.core.mail.backends.base import BaseEmailBackend

    _load_backends(configured)
    found: list[type] = []
    pending = list(BaseEmailBackend.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls not in found:
            found.append(cls)
            pending.extend(cls.__subclasses__())
    return found


def _keeping_in(outbox: list[Any]) -> Callable[[Any, Any], int]:
    """``send_messages`` of every backend while the run lasts, Django's in-memory one included:
    each message goes into the sandbox's ``outbox``, whatever the code does to ``mail.outbox``
    (Django's test runner gives it a new list, then deletes it), and into ``mail.outbox`` as
    well when that is another list, where the code's own tests look for it.

    Done here rather than by the in-memory backend, which a backend that skips
    ``super().__init__()`` could not use."""

    def send_messages(self: Any, messages: Any) -> int:
        import copy

        from django.core import mail

        count = 0
        for message in messages:
            message.message()  # header validation, as sending would do
            kept = copy.deepcopy(message)
            kept.sent_using = getattr(self, "alias", None)
            outbox.append(kept)
            current = getattr(mail, "outbox", None)
            if isinstance(current, list) and current is not outbox:
                current.append(kept)
            count += 1
        return count

    return send_messages


def _opened(self: Any) -> bool:
    return False


def _closed(self: Any) -> None:
    return None


@contextmanager
def _every_backend_captures(configured: list[str], outbox: list[Any]) -> Iterator[None]:
    from django.core.mail.backends.base import BaseEmailBackend

    replaced: list[tuple[type, str, Any]] = []
    replacements = {"send_messages": _keeping_in(outbox), "open": _opened, "close": _closed}

    def capture(cls: type) -> None:
        for name, function in replacements.items():
            if name in cls.__dict__:
                replaced.append((cls, name, cls.__dict__[name]))
                setattr(cls, name, function)

    for cls in _backend_classes(configured):
        capture(cls)
    # A backend module first imported during the run (a lazily loaded provider's) is
    # captured as its class is defined.
    had_hook = "__init_subclass__" in BaseEmailBackend.__dict__
    saved_hook = BaseEmailBackend.__dict__.get("__init_subclass__")

    def __init_subclass__(cls: type, /, **kwargs: Any) -> None:
        super(BaseEmailBackend, cls).__init_subclass__(**kwargs)  # type: ignore[misc]
        capture(cls)

    hook: Any = classmethod(__init_subclass__)
    BaseEmailBackend.__init_subclass__ = hook  # type: ignore[method-assign]
    try:
        yield
    finally:
        if had_hook:
            BaseEmailBackend.__init_subclass__ = saved_hook  # type: ignore[assignment, method-assign]
        else:
            del BaseEmailBackend.__init_subclass__
        for cls, name, original in reversed(replaced):
            setattr(cls, name, original)


@contextmanager
def capture_email() -> Iterator[list[Any]]:
    """Send every email of the run to an in-memory outbox; yields it (``mail.outbox``)."""
    from django.core import mail
    from django.test.utils import override_settings

    missing = object()
    saved = getattr(mail, "outbox", missing)
    configured = _configured_backends()  # before the override replaces them
    outbox: list[Any] = []
    mail.outbox = outbox
    try:
        with ExitStack() as stack:
            with warnings.catch_warnings():
                # Django 6.1 warns that EMAIL_BACKEND is deprecated: the project's setting,
                # not ours, and the project was told at start-up.
                warnings.filterwarnings("ignore", message=r"The EMAIL_BACKEND setting")
                stack.enter_context(override_settings(**_settings_override()))
            stack.enter_context(_every_backend_captures(configured, outbox))
            yield outbox
    finally:
        if saved is missing:
            if hasattr(mail, "outbox"):
                del mail.outbox
        else:
            mail.outbox = saved  # type: ignore[assignment]
