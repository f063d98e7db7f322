"""``manage.py profile_view /url/ --user=1``: profile one URL as one user."""

from __future__ import annotations

import argparse
from typing import Any

from django_profilecmds.management.base import (
    ProfilingCommand,
    add_compare_arguments,
    add_profiler_arguments,
    add_request_arguments,
    add_run_arguments,
    load_baseline,
    profiler_options,
    request_spec,
    run_options,
)


class Command(ProfilingCommand):
    help = (
        "Profile one URL as one user through the full Django stack (or the view alone with "
        "--direct). Every run is rolled back and email is captured unless told otherwise."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("path", help="URL path with optional query string, e.g. /books/?q=x")
        add_request_arguments(parser)
        add_run_arguments(parser)
        add_profiler_arguments(parser)
        add_compare_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        from django_profilecmds.spec import RunSpec

        spec = self.make_spec(
            lambda: RunSpec(
                request=request_spec(options["path"], options),
                **profiler_options(options),
                **run_options(options),
            )
        )
        baseline = self.make_spec(lambda: load_baseline(options))
        result = self.profile(spec, options, baseline)
        if options["verbosity"] >= 1:
            self.print_summary(result, options)
            self.print_reports(result, options)
            self.print_comparison(result, options)
        self.finish(result, options)
