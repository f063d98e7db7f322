"""``manage.py profile_call shop.stats.get_stats_from_queryset --kwargs '{"limit": 150}'``:
profile any importable callable, sync or async, with the same SQL insight and sandbox as a URL."""

from __future__ import annotations

import argparse
from typing import Any

from django_profilecmds.management.base import ProfilingCommand
from django_profilecmds.management.from_options import (
    call_from_options,
    profiling_from_options,
    run_from_options,
)
from django_profilecmds.management.options import (
    add_call_arguments,
    add_profiler_arguments,
    add_run_arguments,
)


class Command(ProfilingCommand):
    help = (
        "Profile any importable callable (a helper, a task body, a serializer) with JSON "
        "arguments. Every run is rolled back and email is captured unless told otherwise."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("callable", help="Dotted path, e.g. shop.stats.get_stats_from_queryset")
        add_call_arguments(parser)
        add_run_arguments(parser)
        add_profiler_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        from django_profilecmds.runoptions import run_spec

        spec = run_spec(
            call=call_from_options(options["callable"], options),
            runs=run_from_options(options),
            profiling=profiling_from_options(options),
        )
        result = self.profile(spec, options)
        if options["verbosity"] >= 1:
            self.print_summary(result, options)
            self.print_reports(result, options)
        self.finish(result, options)
