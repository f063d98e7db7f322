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

    def __init__(self, prompt: str = "") -> None:
        super().__init__(f"input is not available under the profiler: {prompt!r}")
        self.prompt = prompt


class _NoStdin(io.TextIOBase):
    """``sys.stdin`` during a run: not a terminal, and every read fails."""

    def readable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def read(self, size: int | None = -1) -> str:
        raise InputNotAvailable()

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        raise InputNotAvailable()


def _no_input(prompt: object = "") -> str:
    """``input()``: fails without printing its prompt, which the error quotes instead (a prompt
    left on the terminal would look like a question still waiting for its answer)."""
    raise InputNotAvailable(str(prompt))


def _no_getpass(prompt: str = "Password: ", stream: Any = None, **kwargs: Any) -> str:
    raise InputNotAvailable(prompt)


@contextmanager
def no_interactive_input() -> Iterator[None]:
    """While it lasts, every way of asking for input raises :class:`InputNotAvailable`.

    ``input`` is replaced on ``builtins`` and ``getpass.getpass`` on its module, which is where
    Django's commands (``flush``, ``changepassword``, ``createsuperuser``) look them up.
    """
    import builtins
    import getpass

    saved = sys.stdin, builtins.input, getpass.getpass
    sys.stdin = _NoStdin()
    builtins.input = _no_input
    getpass.getpass = _no_getpass
    try:
        yield
    finally:
        sys.stdin, builtins.input, getpass.getpass = saved


def command_asked_for_input(name: str, asked: InputNotAvailable) -> InteractiveInput:
    """The error for management command ``name`` asking for input, with the way around it."""
    from django_profilecmds.exception_summary import mask_secrets

    lines = [line.strip() for line in asked.prompt.splitlines() if line.strip()]
    question = f" ({mask_secrets(lines[-1][:100])!r})" if lines else ""
    flag = no_input_flag(name)
    fix = (
        f"pass its {flag} option (after --)"
        if flag
        else "it has no --no-input option: give its answers as arguments if it takes "
        "them, or profile the code it runs with profile_call"
    )
    return InteractiveInput(
        f"The command {name!r} asked for interactive input{question}, which is not available "
        f"under the profiler; {fix}."
    )


NO_INPUT_OPTIONS = ("--no-input", "--noinput")


def no_input_flag(name: str) -> str | None:
    """The option that makes command ``name`` run without prompting (``--no-input``), if its
    own parser has one. Django's convention stores it as ``interactive=False``; a command's
    ``--interactive`` is the opposite, and no answer."""
    from django_profilecmds.targets import command_parser

    for action in command_parser(name)._actions:
        for option in NO_INPUT_OPTIONS:
            if option in action.option_strings:
                return option
    return None
