"""Errors a user can fix. Commands turn them into ``CommandError`` (exit status 1)."""

from __future__ import annotations


class ProfileCmdsError(Exception):
    """Base class: the message is written for the person who typed the command."""


class InvalidOption(ProfileCmdsError):
    """A malformed option value (``--data``, ``--header``, ``--json``, ``--profiler``...)."""


class PathNotFound(ProfileCmdsError):
    """No URL pattern matches the requested path."""

    def __init__(self, path: str, suggestions: list[str]) -> None:
        self.path = path
        self.suggestions = suggestions
        message = f"No URL pattern matches {path!r}."
        if suggestions:
            listed = "\n".join(f"  {pattern}" for pattern in suggestions)
            message += f"\nThe closest URL patterns are:\n{listed}"
        super().__init__(message)


class UserNotFound(ProfileCmdsError):
    """``--user`` matched no user (or more than one)."""


class HostNotAllowed(ProfileCmdsError):
    """The Host header would be rejected by ALLOWED_HOSTS."""


class OutputDirError(ProfileCmdsError):
    """The output directory cannot be created or written to."""


class ReportWriteError(ProfileCmdsError):
    """A report or output file could not be written (a full disk, a refused name...); nothing
    half-written is left behind."""


class UnknownRenderer(ProfileCmdsError):
    """No report file renderer has that name."""


class InvalidReport(ProfileCmdsError):
    """A document read as a run's report (``RunResult.from_dict``) is not one."""


class InteractiveInput(ProfileCmdsError):
    """The profiled code asked for input, which nobody can type during a run."""
