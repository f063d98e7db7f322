"""What to run: :class:`RequestSpec` and :class:`RunSpec`, and parsing of request options.

Kept free of Django and profiler imports so that ``manage.py <command> --help`` stays fast.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django_profilecmds.analysis.budgets import Budgets
from django_profilecmds.choices import DRIVERS, HTTP_METHODS, PROFILERS, DriverName, Profiler
from django_profilecmds.exceptions import InvalidOption


@dataclass(frozen=True)
class RequestSpec:
    """One HTTP request, as the user described it on the command line."""

    path: str
    method: str = "GET"
    data: tuple[tuple[str, str], ...] = ()
    json_body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    host: str | None = None
    secure: bool = False
    enforce_csrf: bool = False
    # A request read from recorded traffic (profile_replay): its method may be any token, and
    # ``body`` is sent as recorded, with the recorded Content-Type header.
    recorded: bool = False
    body: str | None = None

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise InvalidOption(f"The path must start with '/', got {self.path!r}.")
        if self.body is not None and not self.recorded:
            raise InvalidOption("A raw body is sent only for a recorded request.")
        if self.method not in HTTP_METHODS and not self.recorded:
            raise InvalidOption(unknown_choice("HTTP method", self.method, HTTP_METHODS))
        if self.json_body is not None and self.data:
            raise InvalidOption("Use either --data or --json, not both.")


@dataclass(frozen=True)
class CallSpec:
    """A callable to run instead of a request: ``dotted(input(), *args, **kwargs)``."""

    dotted: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    input: str | None = None  # dotted zero-argument factory for the first positional argument


# Commands that run Django's test runner, which makes test databases of its own.
TEST_RUNNER_COMMANDS = frozenset({"test"})


@dataclass(frozen=True)
class CommandSpec:
    """A management command to run instead of a request: ``call_command(name, *args)``."""

    name: str
    args: tuple[str, ...] = ()

    @property
    def runs_tests(self) -> bool:
        """Django's test runner: it works on test databases that it creates and destroys."""
        return self.name in TEST_RUNNER_COMMANDS


@dataclass(frozen=True)
class RunSpec:
    """Everything one profiling run needs: the request, who sends it, and how it is observed."""

    request: RequestSpec | None
    user: str | None = None
    driver: DriverName = "full"
    profiler: Profiler = "pyinstrument"
    interval: float = 0.001
    repeat: int = 1
    warmup: int = 0
    commit: bool = False
    capture_email: bool = True
    isolate_cache: bool = True  # private in-memory caches in place of the project's
    nplusone_threshold: int = 5
    explain: bool = False
    explain_top: int = 3
    explain_analyze: bool = False
    budgets: Budgets = field(default_factory=Budgets)
    call: CallSpec | None = None
    command: CommandSpec | None = None
    lines: tuple[str, ...] = ()  # dotted targets for the line profiler
    inherited: bool = False

    @property
    def title(self) -> str:
        """``GET /books/`` or ``call shop.stats.demo_input``."""
        if self.call is not None:
            return f"call {self.call.dotted}"
        if self.command is not None:
            from django_profilecmds.reports.redact import MASK
            from django_profilecmds.reports.secrets import mask_argv

            # Printed, saved and made a file name: the values of --password and the like masked.
            return " ".join(["command", self.command.name, *mask_argv(self.command.args, MASK)])
        assert self.request is not None
        return f"{self.request.method} {self.request.path}"

    def __post_init__(self) -> None:
        if [self.request, self.call, self.command].count(None) != 2:
            raise InvalidOption("Give exactly one of a URL, a callable or a command to run.")
        if self.lines and self.profiler == "cprofile":
            raise InvalidOption(
                "cProfile and the line profiler cannot run in the same pass (Python 3.12+ allows "
                "one sys.monitoring profiler at a time); profile lines and functions separately."
            )
        if self.profiler not in PROFILERS:
            raise InvalidOption(unknown_choice("profiler", self.profiler, PROFILERS))
        if self.driver not in DRIVERS:
            raise InvalidOption(unknown_choice("driver", self.driver, DRIVERS))
        if self.repeat < 1:
            raise InvalidOption(f"--repeat must be at least 1, got {self.repeat}.")
        if self.warmup < 0:
            raise InvalidOption(f"--warmup cannot be negative, got {self.warmup}.")
        if self.nplusone_threshold < 2:
            raise InvalidOption(
                f"--nplusone-threshold must be at least 2, got {self.nplusone_threshold}."
            )
        if self.explain_top < 1:
            raise InvalidOption(f"--explain-top must be at least 1, got {self.explain_top}.")
        for name, value in vars(self.budgets).items():
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise InvalidOption(
                    f"--{name.replace('_', '-')} must be a number of 0 or more, got {value}."
                )
        if not 0 < self.interval <= 1:
            raise InvalidOption(
                f"--interval is in seconds and must be in (0, 1], got {self.interval}."
            )


def unknown_choice(what: str, value: object, choices: Sequence[str]) -> str:
    """The message for a value outside a fixed set, the same from the API and every command."""
    return f"Unknown {what} {value!r}; choose from {', '.join(choices)}."


def parse_data(values: list[str] | None) -> tuple[tuple[str, str], ...]:
    """Parse repeatable ``key=value`` options, keeping order and repeated keys."""
    pairs = []
    for value in values or []:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise InvalidOption(f"--data expects name=value, got {value!r}.")
        pairs.append((key, item))
    return tuple(pairs)


def parse_headers(values: list[str] | None) -> tuple[tuple[str, str], ...]:
    """Parse repeatable ``'Name: value'`` options."""
    headers = []
    for value in values or []:
        name, sep, item = value.partition(":")
        name = name.strip()
        if not sep or not name or any(c.isspace() for c in name):
            raise InvalidOption(f"--header expects 'Name: value', got {value!r}.")
        headers.append((name, item.strip()))
    return tuple(headers)


def parse_call_arguments(
    args: str | None, kwargs: str | None
) -> tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]]:
    """``--args '[1, "a"]'`` and ``--kwargs '{"limit": 10}'``, validated."""
    positional: Any = []
    named: Any = {}
    for option, text, expected in (("--args", args, list), ("--kwargs", kwargs, dict)):
        if text is None:
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidOption(
                f"{option} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
            ) from exc
        if not isinstance(value, expected):
            shape = "a JSON list" if expected is list else "a JSON object"
            raise InvalidOption(f"{option} must be {shape}, got {text!r}.")
        if expected is list:
            positional = value
        else:
            named = value
    return tuple(positional), tuple(named.items())


def load_json_body(value: str | None) -> str | None:
    """Return the JSON text of ``--json TEXT`` or ``--json @file.json``, validated."""
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        from django_profilecmds.limits import MAX_JSON_BODY, InputTooLarge, read_text_limited

        path = Path(value[1:]).expanduser()
        try:
            text = read_text_limited(path, MAX_JSON_BODY)
        except InputTooLarge as exc:
            raise InvalidOption(
                f"The --json file {str(path)!r} is {exc}, the most a request body may be."
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise InvalidOption(f"Cannot read the --json file {str(path)!r}: {reason}.") from exc
    source = f"the file {value[1:]!r}" if value.startswith("@") else "--json"
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidOption(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from exc
    except RecursionError:
        raise InvalidOption(f"{source} is not valid JSON: it is nested too deeply.") from None
    return text
