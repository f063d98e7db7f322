"""``manage.py profile_command NAME -- ARGS...``: profile another management command."""

from __future__ import annotations

import argparse
from typing import Any

from django_profilecmds.management.base import ProfilingCommand
from django_profilecmds.management.from_options import profiling_from_options, run_from_options
from django_profilecmds.management.options import add_profiler_arguments, add_run_arguments


class Command(ProfilingCommand):
    help = (
        "Profile another management command (arguments after -- go to it), with its output "
        "captured. Every run is rolled back and email is captured unless told otherwise."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("command_name", metavar="NAME", help="The command to profile.")
        parser.add_argument(
            "command_args",
            nargs=argparse.REMAINDER,
            metavar="-- ARGS",
            help="Arguments for the profiled command, after --.",
        )
        add_run_arguments(parser)
        add_profiler_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        from django_profilecmds.runoptions import run_spec
        from django_profilecmds.spec import CommandSpec

        arguments = list(options["command_args"] or [])
        if arguments[:1] == ["--"]:
            arguments = arguments[1:]
        command = CommandSpec(options["command_name"], tuple(arguments))
        spec = run_spec(
            command=command,
            runs=run_from_options(options),
            profiling=profiling_from_options(options),
        )
        result = self.profile(spec, options)
        if options["verbosity"] >= 1:
            self.print_summary(result, options)
            if result.output:
                for name in ("stdout", "stderr"):
                    if result.output[name].strip():
                        self.stdout.write(f"\n{name} of {command.name}:")
                        self.stdout.write(result.output[name].rstrip("\n"))
            self.print_reports(result, options)
        self.finish(result, options)
