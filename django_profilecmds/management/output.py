"""What every command prints goes through here: secrets masked, control characters escaped,
Ctrl-C and crashes reported in the same way by every command."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError

from django_profilecmds.reports.text import UNPRINTABLE, escape_control

INTERRUPTED = "Interrupted; nothing was committed."
INTERRUPTED_STATUS = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C


# Colour (SGR) and erase-line sequences are ours (Django's styles, pyinstrument's tree, the
# progress line); any other control character (reports.text.UNPRINTABLE) comes from the code or
# data profiled.
_TERMINAL = re.compile(rf"(\x1b\[[0-9;]*[mK])|({UNPRINTABLE.pattern})")


def terminal_safe(text: str) -> str:
    """``text`` with control characters escaped (``\\x1b``), but for colours and a leading
    carriage return: what a view's exception or a command's output holds cannot move the
    cursor, retitle the terminal or write to its clipboard."""
    lead = "\r" if text.startswith("\r") else ""
    return lead + _TERMINAL.sub(_keep_or_escape, text[len(lead) :])


def _keep_or_escape(match: re.Match[str]) -> str:
    return match[1] or escape_control(match[2])


class RedactedStream:
    """A text stream that masks secrets in whatever is written to it (see ``redact``), and
    escapes control characters."""

    def __init__(self, stream: Any, redact: Any) -> None:
        self._stream = stream
        self._redact = redact

    def write(self, text: str) -> int:
        try:
            text = terminal_safe(self._redact(text))
        except Exception:  # a line that cannot be masked is not shown at all
            text = "[a line withheld: it could not be checked for secrets]\n"
        return int(self._stream.write(text) or 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class LineBufferedRedactedStream(RedactedStream):
    """What the profiled code writes, masked a line at a time: ``print("password:", x)`` and
    ``write("api_key="); write(x)`` reach the stream in pieces that only make a pair whole."""

    LIMIT = 64 * 1024  # a longer line without a newline is masked as it is

    def __init__(self, stream: Any, redact: Any) -> None:
        super().__init__(stream, redact)
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending or len(self._pending) > self.LIMIT:
            whole, newline, rest = self._pending.rpartition("\n")
            if len(rest) > self.LIMIT:
                whole, newline, rest = self._pending, "", ""
            self._pending = rest
            super().write(whole + newline)
        return len(text)

    def flush(self) -> None:
        """A line still open stays pending (the next write may complete a pair in it)."""
        self._stream.flush()

    def close_line(self) -> None:
        """Write what is pending, as the command ends."""
        if self._pending:
            pending, self._pending = self._pending, ""
            super().write(pending)
        self._stream.flush()


@contextmanager
def process_output_redacted(redact: Any) -> Iterator[None]:
    """While a command runs, what the profiled code prints (``print()``, ``sys.stderr``, a
    logging handler writing to the terminal) goes through ``redact`` too."""
    real = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    wrappers = {id(stream): LineBufferedRedactedStream(stream, redact) for stream in real if stream}
    handlers = [
        handler
        for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
        if isinstance(logger, logging.Logger)
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler)
        and not isinstance(handler, logging.FileHandler)
        and id(handler.stream) in wrappers
    ]
    saved = [(handler, handler.stream) for handler in handlers]
    sys.stdout = wrappers.get(id(real[0]), real[0])
    sys.stderr = wrappers.get(id(real[1]), real[1])
    for handler, stream in saved:
        handler.setStream(wrappers[id(stream)])
    try:
        yield
    finally:
        for wrapper in wrappers.values():
            wrapper.close_line()
        sys.stdout, sys.stderr = real[0], real[1]
        for handler, stream in saved:
            handler.setStream(stream)


@contextmanager
def request_errors_in_one_line() -> Iterator[None]:
    """Django's "Internal Server Error: /path/" reaches the terminal as its one line, without
    the traceback under it, for a command that prints that traceback itself. Only the handlers
    ``process_output_redacted`` put on the terminal are changed: a log file, the admins' email
    or an error tracker still get the whole record."""
    handlers = []
    logger: logging.Logger | None = logging.getLogger("django.request")
    while logger is not None:
        handlers.extend(logger.handlers)
        logger = logger.parent if logger.propagate else None
    if not handlers and logging.lastResort is not None:
        handlers.append(logging.lastResort)
    saved = [
        (handler, handler.formatter)
        for handler in handlers
        if isinstance(getattr(handler, "stream", None), LineBufferedRedactedStream)
    ]
    for handler, formatter in saved:
        handler.setFormatter(_RequestErrorsInOneLine(formatter or logging.Formatter()))
    try:
        yield
    finally:
        for handler, formatter in saved:
            handler.setFormatter(formatter)


class _RequestErrorsInOneLine(logging.Formatter):
    """A handler's own formatter, but for django.request's errors: their message, without the
    exception (the command prints it once, with the run's summary)."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.own = formatter

    def format(self, record: logging.LogRecord) -> str:
        if record.name != "django.request" or record.levelno < logging.ERROR:
            return self.own.format(record)
        kept = record.exc_info, record.exc_text
        record.exc_info = record.exc_text = None
        try:
            return self.own.format(record)
        finally:
            record.exc_info, record.exc_text = kept


class RedactedOutputCommand(BaseCommand):
    """A command whose every line (stdout, stderr, its ``CommandError``, the traceback of an
    unexpected exception) goes through the redaction policy. ``self.redactor`` learns a run's
    secrets with ``self.protect()``. Ctrl-C is one line and exit status 130."""

    redactor: Any = None

    def execute(self, *args: Any, **options: Any) -> Any:
        from django_profilecmds.reports.redact import Redactor

        self.redactor = Redactor()
        options["stdout"] = RedactedStream(options.get("stdout") or sys.stdout, self.redact)
        options["stderr"] = RedactedStream(options.get("stderr") or sys.stderr, self.redact)
        try:
            with process_output_redacted(self.redact):
                return super().execute(*args, **options)
        except KeyboardInterrupt:
            # Every sandbox has been left by now, so the rollback held: say so, as a shell does.
            raise CommandError(INTERRUPTED, returncode=INTERRUPTED_STATUS) from None
        except CommandError as exc:
            message = self.redact(str(exc))
            if message == str(exc):
                raise
            raise CommandError(message, returncode=exc.returncode) from None

    def run_from_argv(self, argv: list[str]) -> None:
        """As Django's, but the traceback of an unexpected exception is printed masked (with or
        without --traceback), and the exit status is 1; a ``CommandError`` raised while the
        options are parsed is one line, like one raised by ``execute()``."""
        try:
            super().run_from_argv(argv)
        except CommandError as exc:
            if self.redactor is not None:  # from execute(), re-raised for --traceback
                self._exit_with_traceback(exc)
            # Refused while the options were parsed (a value outside a fixed set), before
            # execute() could report it: reported as Django reports one from execute().
            RedactedStream(sys.stderr, self.redact).write(f"CommandError: {exc}\n")
            sys.exit(exc.returncode)
        except Exception as exc:
            self._exit_with_traceback(exc)

    def _exit_with_traceback(self, exc: BaseException) -> NoReturn:
        import traceback

        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        RedactedStream(sys.stderr, self.redact).write(text)
        sys.exit(1)

    def redact(self, text: str) -> str:
        if self.redactor is None:
            from django_profilecmds.reports.redact import Redactor

            self.redactor = Redactor()
        return str(self.redactor.text(text))

    def protect(self, secrets: Any) -> None:
        """Mask these values in everything printed from now on."""
        self.redactor.extend(secrets)
