"""``manage.py lineprof shop.views.listing_list --url /listings/``: per-line timings of any
function, method, class or module, with the SQL each line ran, without a ``@profile``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from django_profilecmds.management.base import ProfilingCommand
from django_profilecmds.management.from_options import (
    call_from_options,
    request_from_options,
    run_from_options,
    sender_from_options,
)
from django_profilecmds.management.options import (
    add_call_arguments,
    add_request_arguments,
    add_run_arguments,
    checked_choice,
    one_of,
)

if TYPE_CHECKING:
    from django_profilecmds.result import RunResult

UNITS = ("s", "ms", "us")


class Command(ProfilingCommand):
    help = (
        "Per-line timings of functions, methods, classes or modules (dotted paths), driven by a "
        "request (--url) or a call (--call), with the SQL queries each line ran."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "targets",
            nargs="+",
            metavar="TARGET",
            help="Dotted path of a function, method, class or module to profile line by line.",
        )
        drivers = parser.add_argument_group("what runs the targets")
        drivers.add_argument(
            "--url", help="Send this request (default: the URL routed to the target view)."
        )
        drivers.add_argument(
            "--call",
            nargs="?",
            const="",
            metavar="DOTTED",
            help="Call this callable instead of sending a request; alone, call the target.",
        )
        add_call_arguments(parser)
        add_request_arguments(parser)
        add_run_arguments(parser)
        lines = parser.add_argument_group("line report")
        lines.add_argument(
            "--inherited",
            action="store_true",
            help="For a class, also profile methods inherited from project-code bases.",
        )
        lines.add_argument(
            "--unit",
            default="ms",
            type=one_of(UNITS, "--unit"),
            choices=UNITS,
            help="Time unit: s, ms (default) or us.",
        )
        lines.add_argument(
            "--skip-zero", action="store_true", help="Hide lines and functions that never ran."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.core.management.base import CommandError

        from django_profilecmds.runoptions import ProfilingOptions, run_spec

        checked_choice(options["unit"], UNITS, "--unit")
        calling = options["call"] is not None
        if calling and options["url"]:
            raise CommandError("Use either --url (a request) or --call (a callable), not both.")
        if not calling and (options["call_args"] or options["call_kwargs"] or options["input"]):
            raise CommandError("--args, --kwargs and --input go with --call.")
        targets = options["targets"]
        call = request = None
        if calling:
            call = call_from_options(options["call"] or self._single_target(targets), options)
        else:
            if not options["url"]:
                options = self.route_to_views(
                    targets,
                    options,
                    flag="--url ",
                    advice="Say what runs them: --url /some/path/ for a request, or --call "
                    "dotted.callable for a function.",
                )
            request = request_from_options(options["url"] or options["path"], options)
        spec = run_spec(
            request=request,
            call=call,
            sender=sender_from_options(options),
            runs=run_from_options(options),
            profiling=ProfilingOptions(profiler="none"),
            lines=tuple(targets),
            inherited=options["inherited"],
        )
        result = self.profile(spec, options)
        if options["verbosity"] >= 1:
            self.print_summary(result, options)
            self._print_lines(result, options)
        self.finish(result, options)

    def _single_target(self, targets: list[str]) -> str:
        from django.core.management.base import CommandError

        if len(targets) != 1:
            raise CommandError("--call without a value calls the target: give exactly one target.")
        return targets[0]

    def _print_lines(self, result: RunResult, options: dict[str, Any]) -> None:
        from django_profilecmds.reports import linetext

        write = self.stdout.write
        for target in result.targets:
            for note in target["notes"]:
                write("  " + self.style.NOTICE(note))
        write("")
        write(linetext.INFLATION_NOTE)
        hint = _never_hint(result)
        table = linetext.table_lines(
            result,
            options["unit"],
            options["skip_zero"],
            hot=self.style.ERROR if self.color(options) else None,
            never=lambda line: self.style.WARNING(line + hint),
        )
        for line in table:
            write(line)


def _never_hint(result: RunResult) -> str:
    if result.spec.call is not None:
        return f" (is it called by {result.spec.call.dotted}? try --call alone to call the target)"
    return f" (did the URL route elsewhere? it ran {result.view})"
