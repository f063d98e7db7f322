"""No prompt can wait for a person during a run: ``input()``, reads of ``sys.stdin`` and
``getpass.getpass()`` fail at once with :class:`InputNotAvailable`.

Replacing ``sys.stdin`` is not enough on its own: ``getpass`` reads the controlling terminal
(``/dev/tty``) directly, so a password prompt would still wait on a terminal.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django_profilecmds.exceptions import InteractiveInput


class InputNotAvailable(EOFError):
    """Raised in the profiled code where it reads input. An ``EOFError``, so code that treats
    the end of its input as "no" goes on as it would with an empty stream."""


class _NoStdin(io.TextIOBase):
    """``sys.stdin`` during a run: not a terminal, and every read fails."""

    def readable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def read(self, size: int | None = -1) -> str:
        raise InputNotAvailable("standard input is not available under the profiler")

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        raise InputNotAvailable("standard input is not available under the profiler")


def _no_getpass(prompt: str = "Password: ", stream: Any = None, **kwargs: Any) -> str:
    raise InputNotAvailable("a password prompt cannot be answered under the profiler")


@contextmanager
def no_interactive_input() -> Iterator[None]:
    """While it lasts, every way of asking for input raises :class:`InputNotAvailable`.

    ``getpass.getpass`` is replaced on its module, which is where Django's commands
    (``changepassword``, ``createsuperuser``) look it up.
    """
    import getpass

    saved_stdin, saved_getpass = sys.stdin, getpass.getpass
    sys.stdin = _NoStdin()
    getpass.getpass = _no_getpass
    try:
        yield
    finally:
        sys.stdin = saved_stdin
        getpass.getpass = saved_getpass


def command_asked_for_input(name: str) -> InteractiveInput:
    """The error for management command ``name`` asking for input, with the way around it."""
    flag = no_input_flag(name)
    fix = (
        f"pass its {flag} option (after --)"
        if flag
        else "it has no --no-input option: give its answers as arguments if it takes "
        "them, or profile the code it runs with profile_call"
    )
    return InteractiveInput(
        f"The command {name!r} asked for interactive input, which is not available under the "
        f"profiler; {fix}."
    )


def no_input_flag(name: str) -> str | None:
    """The option that makes command ``name`` run without prompting (``--no-input``), if any."""
    from django.core.management import get_commands, load_command_class
    from django.core.management.base import BaseCommand

    app = get_commands()[name]
    command = app if isinstance(app, BaseCommand) else load_command_class(app, name)
    parser = command.create_parser("manage.py", name)
    for action in parser._actions:
        # Django's convention: --noinput and --no-input, stored as interactive=False.
        if action.dest == "interactive" and action.option_strings:
            options = action.option_strings
            return "--no-input" if "--no-input" in options else options[-1]
    return None
