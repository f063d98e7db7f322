"""The options of the profiling commands: every argparse group, declared once (``from_options``
turns what they parsed into the library's typed values).

An option two commands share (``--user``, ``--host``, ``--send-email``...) is one function here,
so that its spelling, default and help cannot drift apart.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from django.core.management.base import CommandError

from django_profilecmds.choices import HTTP_METHODS, PROFILERS
from django_profilecmds.spec import unknown_choice

# What ``add_argument_group`` returns (an ArgumentParser works too).
Group = argparse._ActionsContainer

SQL_MODES = ("summary", "full", "none")


def one_of(
    choices: Sequence[str], what: str, normalise: Callable[[str], str] | None = None
) -> Callable[[str], str]:
    """The ``type=`` of an option with a fixed set of values, which is also its ``choices=``.

    A typed value outside the set is a one-line ``CommandError`` (exit status 1) worded as the
    check of the same value given to ``call_command()``, which passes keyword arguments through
    unparsed, instead of argparse's usage text and exit status 2. Raised while parsing, it
    is reported by ``RedactedOutputCommand.run_from_argv()``.
    """

    def convert(text: str) -> str:
        return checked_choice(normalise(text) if normalise else text, choices, what)

    return convert


def checked_choice(value: str, choices: Sequence[str], what: str) -> str:
    """``value``, if it is one of ``choices`` (for a value that argparse did not parse)."""
    if value not in choices:
        raise CommandError(unknown_choice(what, value, choices))
    return value


def positive_int(what: str) -> Callable[[str], int]:
    """The ``type=`` of an option that takes a whole number of 1 or more: anything else is a
    one-line ``CommandError``, as with :func:`one_of`, instead of argparse's usage text."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise CommandError(f"{what} must be a positive integer, got {text!r}.")
        return value

    return convert


def add_user_argument(
    group: Group, help_text: str = "Send the request as this user: primary key, username or email."
) -> None:
    group.add_argument("--user", help=help_text)


def add_host_argument(group: Group) -> None:
    group.add_argument(
        "--host",
        help="Host header (default: the first ALLOWED_HOSTS entry that is not '*', or localhost).",
    )


def add_send_email_argument(group: Group) -> None:
    group.add_argument(
        "--send-email", action="store_true", help="Really send email (default: captured)."
    )


def add_isolate_cache_argument(group: Group) -> None:
    group.add_argument(
        "--shared-cache",
        dest="isolate_cache",
        action="store_false",
        default=True,
        help=(
            "Run on the project's caches, whose writes no rollback undoes (default: private "
            "in-memory caches, filled by the warm-up run)."
        ),
    )
    group.add_argument(
        "--isolate-cache",
        dest="isolate_cache",
        action="store_true",
        help="Private in-memory caches in place of the project's: the default.",
    )


def add_nplusone_argument(group: Group) -> None:
    group.add_argument(
        "--nplusone-threshold",
        type=int,
        default=5,
        help="Flag similar queries run at least this often from one line (default 5).",
    )


def add_files_arguments(group: Group) -> None:
    group.add_argument("--output-dir", help="Where report files go (default: profiles/).")
    group.add_argument("--no-files", action="store_true", help="Write no report files.")


def add_request_arguments(parser: argparse.ArgumentParser) -> None:
    request = parser.add_argument_group("request")
    add_user_argument(request)
    request.add_argument(
        "--method",
        type=one_of(HTTP_METHODS, "HTTP method", normalise=str.upper),
        choices=HTTP_METHODS,
        metavar="METHOD",
        help=(
            f"HTTP method: {', '.join(HTTP_METHODS)} (default: GET, or the method of the "
            "named view's action, such as POST for a viewset's create)."
        ),
    )
    request.add_argument(
        "--data",
        action="append",
        metavar="KEY=VALUE",
        help="Form field (query string for GET/HEAD); repeatable.",
    )
    request.add_argument(
        "--json", metavar="TEXT|@FILE", help="JSON request body, inline or from a file."
    )
    request.add_argument(
        "--header",
        action="append",
        metavar="'NAME: VALUE'",
        help="Extra request header; repeatable.",
    )
    add_host_argument(request)
    request.add_argument("--secure", action="store_true", help="Send the request as HTTPS.")
    request.add_argument(
        "--enforce-csrf",
        action="store_true",
        help="Check CSRF tokens (off by default, like Django's test client).",
    )
    mode = request.add_mutually_exclusive_group()
    mode.add_argument(
        "--direct",
        action="store_true",
        help="Call the view alone: no middleware (the full WSGI stack is the default).",
    )
    mode.add_argument(
        "--asgi",
        action="store_true",
        help="Send the request through Django's ASGI handler (or ASGI_APPLICATION).",
    )


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The run group (runs, rollback, email, caches) and the output group."""
    run = parser.add_argument_group("run")
    run.add_argument("--repeat", type=int, default=1, help="Counted runs (default 1).")
    run.add_argument(
        "--warmup",
        type=int,
        default=None,
        help=(
            "Uncounted runs first (default 1, so that counts are a warm process's, as a second "
            "request sees them; 0 with --commit or --send-email, and for profile_command). "
            "--warmup 0 profiles the cold process."
        ),
    )
    run.add_argument(
        "--commit", action="store_true", help="Keep the database changes (no rollback)."
    )
    add_send_email_argument(run)
    add_isolate_cache_argument(run)
    output = parser.add_argument_group("output")
    add_files_arguments(output)
    output.add_argument(
        "--speedscope",
        action="store_true",
        help="Also write pyinstrument's samples, in time order, as speedscope JSON.",
    )
    output.add_argument(
        "--open", action="store_true", help="Open the HTML report in the default browser."
    )


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    """--save and --compare: samples kept for a later before/after verdict."""
    group = parser.add_argument_group("save and compare")
    group.add_argument("--save", metavar="FILE", help="Write the timing samples to this file.")
    group.add_argument(
        "--compare", metavar="FILE", help="Compare with a file written by --save (a verdict)."
    )
    group.add_argument(
        "--alpha", type=float, default=0.01, help="Significance level (default 0.01)."
    )
    group.add_argument(
        "--min-change",
        type=float,
        default=None,
        help="A smaller relative change of the median is noise (default 0.05; 0.10 with "
        "--against, where two processes differ by a few percent in their layout alone).",
    )


def add_profiler_arguments(parser: argparse.ArgumentParser) -> None:
    """Profiler, SQL and budget options, shared by every command that profiles."""
    profiler = parser.add_argument_group("profiler")
    profiler.add_argument(
        "--profiler",
        type=one_of(PROFILERS, "profiler"),
        choices=PROFILERS,
        help="pyinstrument (default, or PROFILECMDS['PROFILER']), cprofile or none.",
    )
    profiler.add_argument(
        "--interval", type=float, help="pyinstrument sampling interval in seconds."
    )
    profiler.add_argument(
        "--show-all", action="store_true", help="Show library frames in the call tree."
    )
    sql = parser.add_argument_group("SQL")
    sql.add_argument(
        "--sql",
        default="summary",
        type=one_of(SQL_MODES, "--sql mode"),
        choices=SQL_MODES,
        help="summary (default: N+1 warnings and top query groups), full (every query in "
        "order with its origin) or none.",
    )
    add_nplusone_argument(sql)
    sql.add_argument("--explain", action="store_true", help="EXPLAIN the slowest distinct queries.")
    sql.add_argument(
        "--explain-top", type=int, default=3, help="How many queries to EXPLAIN (default 3)."
    )
    sql.add_argument(
        "--explain-analyze",
        action="store_true",
        help="PostgreSQL: EXPLAIN ANALYZE (SELECTs only, inside the rolled-back transaction).",
    )
    budgets = parser.add_argument_group("budgets (exit status 3 when exceeded)")
    budgets.add_argument("--max-queries", type=int, help="Most queries allowed per run.")
    budgets.add_argument(
        "--max-duplicates", type=int, help="Most duplicate queries allowed per run."
    )
    budgets.add_argument(
        "--max-db-time-ms", type=float, help="Most database time allowed per run, in ms."
    )


def add_call_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of a called function (profile_call, lineprof --call)."""
    group = parser.add_argument_group("call arguments")
    group.add_argument(
        "--args", dest="call_args", metavar="JSON", help="Positional arguments: a JSON list."
    )
    group.add_argument(
        "--kwargs", dest="call_kwargs", metavar="JSON", help="Keyword arguments: a JSON object."
    )
    group.add_argument(
        "--input",
        metavar="DOTTED",
        help="Zero-argument factory whose result is the call's first argument.",
    )
