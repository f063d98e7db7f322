"""``manage.py profile_view /url/ --user=1``: profile one URL as one user."""

from __future__ import annotations

import argparse
from typing import Any

from django_profilecmds.management.base import (
    ProfilingCommand,
    add_request_arguments,
    add_run_arguments,
    request_spec,
    run_options,
    unicode_ok,
)

SQL_MODES = ("summary", "full", "none")


class Command(ProfilingCommand):
    help = (
        "Profile one URL as one user through the full Django stack (or the view alone with "
        "--direct). Every run is rolled back and email is captured unless told otherwise."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("path", help="URL path with optional query string, e.g. /books/?q=x")
        add_request_arguments(parser)
        add_run_arguments(parser)
        profiler = parser.add_argument_group("profiler")
        profiler.add_argument(
            "--profiler",
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
            help="summary (default: N+1 warnings and top query groups), full (every query in "
            "order with its origin) or none.",
        )
        sql.add_argument(
            "--nplusone-threshold",
            type=int,
            default=5,
            help="Flag similar queries run at least this often from one line (default 5).",
        )
        sql.add_argument(
            "--explain", action="store_true", help="EXPLAIN the slowest distinct queries."
        )
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

    def handle(self, *args: Any, **options: Any) -> None:
        from django.core.management.base import CommandError

        from django_profilecmds.analysis.budgets import Budgets
        from django_profilecmds.conf import get_settings
        from django_profilecmds.exceptions import ProfileCmdsError
        from django_profilecmds.spec import RunSpec

        conf = get_settings()
        try:
            if options["sql"] not in SQL_MODES:
                raise CommandError(
                    f"Unknown --sql mode {options['sql']!r}; choose from {', '.join(SQL_MODES)}."
                )
            spec = RunSpec(
                request=request_spec(options["path"], options),
                profiler=options["profiler"] or conf["PROFILER"],
                interval=options["interval"] or conf["INTERVAL"],
                nplusone_threshold=options["nplusone_threshold"],
                explain=options["explain"] or options["explain_analyze"],
                explain_top=options["explain_top"],
                explain_analyze=options["explain_analyze"],
                budgets=Budgets(
                    max_queries=options["max_queries"],
                    max_duplicates=options["max_duplicates"],
                    max_db_time_ms=options["max_db_time_ms"],
                ),
                **run_options(options),
            )
        except ProfileCmdsError as exc:
            raise CommandError(str(exc)) from exc
        result = self.profile(spec, options)
        if options["verbosity"] >= 1:
            self.print_summary(result, options)
            self._print_reports(result, options)
        self.finish(result)

    def _print_reports(self, result: Any, options: dict[str, Any]) -> None:
        from django_profilecmds.reports import text

        write = self.stdout.write
        if options["sql"] != "none" and result.sql and result.sql.total:
            from django_profilecmds.reports import sqltext

            write("")
            for line in sqltext.render_sql_summary(result).splitlines():
                write(self.style.WARNING(line) if line.startswith("  N+1:") else line)
            if options["sql"] == "full":
                write("")
                write(sqltext.render_sql_full(result))
        if result.calltree is not None:
            write("")
            tree = text.render_calltree(
                result.calltree,
                color=self.color(options),
                unicode=unicode_ok(self.stdout),
                show_all=options["show_all"],
                percent=len(result.runs) > 1,
            )
            write(tree.strip("\n"))
        if result.function_stats is not None:
            write("")
            write(text.render_function_stats(result))
