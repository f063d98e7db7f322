"""One line about an exception raised by the project's code (a module that fails to import, an
``--input`` factory that raises), fit to print in a one-line error.

The project's message may carry a secret (a token in a URL, a password hash in a query), so it
goes through the same masking as every report: this module is the one place that formats such
a message, whichever command prints it.
"""

from __future__ import annotations

import os
import traceback

MAX_MESSAGE = 300  # characters of the exception's message kept on the line


def summarise_exception(exc: BaseException) -> str:
    """``ValueError: the message (at shop/settings_check.py:12)``, secrets masked, on one line."""
    # Masked before it is cut: a cut could leave the start of a secret that no rule matches.
    message = mask_secrets(" ".join(str(exc).split()))
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 3] + "..."
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    where = _where(exc)
    if where and not isinstance(exc, SyntaxError):  # a SyntaxError's message names its line
        text += f" (at {where})"
    return mask_secrets(text)


def mask_secrets(text: str) -> str:
    """``text`` through the redaction policy: sensitive pairs, key formats, settings' values."""
    from django_profilecmds.reports.redact import Redactor

    return Redactor().text(text)


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    frame = frames[-1]
    return f"{_display(frame.filename)}:{frame.lineno}"


def _display(filename: str) -> str:
    """Relative to the working directory when the file is below it."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive, on Windows
        return filename
    return filename if relative.startswith("..") else relative
