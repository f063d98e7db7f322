"""``manage.py profile_view /url/ --user=1``: profile one URL as one user."""

from __future__ import annotations

import argparse
from typing import Any

from django_profilecmds.management.base import ProfilingCommand
from django_profilecmds.management.from_options import (
    baseline_from_options,
    profiling_from_options,
    request_from_options,
    run_from_options,
    sender_from_options,
)
from django_profilecmds.management.options import (
    add_compare_arguments,
    add_profiler_arguments,
    add_request_arguments,
    add_run_arguments,
)


class Command(ProfilingCommand):
    help = (
        "Profile one URL as one user through the full Django stack (or the view alone with "
        "--direct). Every run is rolled back and email is captured unless told otherwise."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "path",
            help=(
                "URL path with optional query string, e.g. /books/?q=x; or the dotted path of a "
                "view or of its method (shop.api.ListingViewSet.create), sent to its URL."
            ),
        )
        add_request_arguments(parser)
        add_run_arguments(parser)
        add_profiler_arguments(parser)
        add_compare_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        from django_profilecmds.runoptions import run_spec

        if names_a_view(options["path"]):
            from django_profilecmds.targets import TargetError

            try:
                options = self.route_to_views(
                    [options["path"]],
                    options,
                    flag="",
                    advice="Give its URL path instead, such as /books/.",
                )
            except TargetError as exc:
                raise TargetError(f"{exc} (A URL path starts with '/'.)") from exc
        spec = run_spec(
            request=request_from_options(options["path"], options),
            profiling=profiling_from_options(options),
            sender=sender_from_options(options),
            runs=run_from_options(options),
        )
        baseline = baseline_from_options(options)
        result = self.profile(spec, options, save=options["save"] or None, baseline=baseline)
        if options["verbosity"] >= 1:
            self.print_summary(result, options)
            self.print_reports(result, options)
            self.print_comparison(result, options)
        self.finish(result, options)


def names_a_view(path: str) -> bool:
    """``shop.views.listing_list`` rather than a URL path."""
    parts = path.split(".")
    return not path.startswith("/") and len(parts) > 1 and all(p.isidentifier() for p in parts)
