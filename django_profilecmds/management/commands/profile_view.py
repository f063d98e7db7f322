"""``manage.py profile_view /url/ --user=1``: profile one URL as one user."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

SQL_MODES = ("summary", "full", "none")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class Command(BaseCommand):
    help = (
        "Profile one URL as one user through the full Django stack (or the view alone with "
        "--direct). Every run is rolled back and email is captured unless told otherwise."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("path", help="URL path with optional query string, e.g. /books/?q=x")
        request = parser.add_argument_group("request")
        request.add_argument(
            "--user", help="Send the request as this user: primary key, username or email."
        )
        request.add_argument(
            "--method", default="GET", type=str.upper, help=f"HTTP method: {', '.join(METHODS)}."
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
        request.add_argument(
            "--host", help="Host header (default: the first entry of ALLOWED_HOSTS)."
        )
        request.add_argument("--secure", action="store_true", help="Send the request as HTTPS.")
        request.add_argument(
            "--enforce-csrf",
            action="store_true",
            help="Check CSRF tokens (off by default, like Django's test client).",
        )
        run = parser.add_argument_group("run")
        run.add_argument(
            "--direct",
            action="store_true",
            help="Call the view alone: no middleware (the full stack is the default).",
        )
        run.add_argument(
            "--profiler",
            help="pyinstrument (default, or PROFILECMDS['PROFILER']), cprofile or none.",
        )
        run.add_argument(
            "--interval", type=float, help="pyinstrument sampling interval in seconds."
        )
        run.add_argument("--repeat", type=int, default=1, help="Counted runs (default 1).")
        run.add_argument("--warmup", type=int, default=0, help="Uncounted runs first.")
        run.add_argument(
            "--commit", action="store_true", help="Keep the database changes (no rollback)."
        )
        run.add_argument(
            "--send-email", action="store_true", help="Really send email (default: captured)."
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
        output = parser.add_argument_group("output")
        output.add_argument("--output-dir", help="Where report files go (default: profiles/).")
        output.add_argument("--no-files", action="store_true", help="Write no report files.")
        output.add_argument(
            "--show-all", action="store_true", help="Show library frames in the call tree."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django_profilecmds.analysis.budgets import Budgets
        from django_profilecmds.conf import get_settings
        from django_profilecmds.exceptions import InvalidOption, ProfileCmdsError
        from django_profilecmds.spec import (
            RequestSpec,
            RunSpec,
            load_json_body,
            parse_data,
            parse_headers,
        )

        conf = get_settings()
        try:
            spec = RunSpec(
                request=RequestSpec(
                    path=options["path"],
                    method=options["method"],
                    data=parse_data(options["data"]),
                    json_body=load_json_body(options["json"]),
                    headers=parse_headers(options["header"]),
                    host=options["host"],
                    secure=options["secure"],
                    enforce_csrf=options["enforce_csrf"],
                ),
                user=options["user"],
                driver="direct" if options["direct"] else "full",
                profiler=options["profiler"] or conf["PROFILER"],
                interval=options["interval"] or conf["INTERVAL"],
                repeat=options["repeat"],
                warmup=options["warmup"],
                commit=options["commit"],
                capture_email=not options["send_email"],
                nplusone_threshold=options["nplusone_threshold"],
                explain=options["explain"] or options["explain_analyze"],
                explain_top=options["explain_top"],
                explain_analyze=options["explain_analyze"],
                budgets=Budgets(
                    max_queries=options["max_queries"],
                    max_duplicates=options["max_duplicates"],
                    max_db_time_ms=options["max_db_time_ms"],
                ),
            )
            if options["sql"] not in SQL_MODES:
                raise InvalidOption(
                    f"Unknown --sql mode {options['sql']!r}; choose from {', '.join(SQL_MODES)}."
                )
            directory = None
            if not options["no_files"]:
                from django_profilecmds.reports.files import prepare_output_dir

                directory = prepare_output_dir(options["output_dir"] or conf["OUTPUT_DIR"])
            from django_profilecmds.runner import run

            result = run(spec)
            if directory is not None:
                from django_profilecmds.reports.files import write_reports

                write_reports(result, directory)
        except ProfileCmdsError as exc:
            raise CommandError(str(exc)) from exc
        self._print(result, options)
        if result.failed:
            what = "raised an exception" if result.errors else f"answered {result.status}"
            raise CommandError(f"The view {what}; the profile above is still complete.")
        if result.budget_failures:
            raise CommandError(
                "Budget exceeded:\n  " + "\n  ".join(result.budget_failures), returncode=3
            )

    def _print(self, result: Any, options: dict[str, Any]) -> None:
        from django_profilecmds.reports import text

        verbosity = options["verbosity"]
        write = self.stdout.write
        if verbosity >= 1:
            write(text.heading(result))
            style = self.style.ERROR if result.failed else self.style.SUCCESS
            write("  " + style(text.status_line(result)))
            write("  " + text.measures_line(result))
            if len(result.runs) > 1:
                write("  " + text.distribution_line(result))
            write("  " + text.safety_line(result))
            for warning in result.warnings:
                write("  " + self.style.WARNING(warning))
        if verbosity >= 2:
            write("")
            write(text.runs_table(result))
            for email in result.emails:
                write(f"  email: {email.subject!r} to {', '.join(email.to)}")
        if verbosity >= 1 and options["sql"] != "none" and result.sql and result.sql.total:
            from django_profilecmds.reports import sqltext

            write("")
            summary = sqltext.render_sql_summary(result)
            for line in summary.splitlines():
                write(self.style.WARNING(line) if line.startswith("  N+1:") else line)
            if options["sql"] == "full":
                write("")
                write(sqltext.render_sql_full(result))
        if verbosity >= 1 and result.calltree is not None:
            write("")
            write(
                text.render_calltree(
                    result.calltree,
                    color=self._color(options),
                    unicode=_unicode_ok(self.stdout),
                    show_all=options["show_all"],
                    percent=len(result.runs) > 1,
                ).strip("\n")
            )
        if verbosity >= 1 and result.function_stats is not None:
            write("")
            write(text.render_function_stats(result))
        for error in result.errors:
            self.stderr.write("")
            self.stderr.write(error.rstrip("\n"), style_func=lambda s: s)
        if result.files:
            write("")
            write("Reports:")
            for path in result.files.values():
                write(f"  {_display_path(path)}")

    def _color(self, options: dict[str, Any]) -> bool:
        if options.get("no_color"):
            return False
        return bool(options.get("force_color")) or self.stdout.isatty()


def _display_path(path: Any) -> str:
    """Relative to the working directory when the file is below it: shorter to read and click."""
    try:
        return str(path.relative_to(os.getcwd()))
    except ValueError:
        return str(path)


def _unicode_ok(stream: Any) -> bool:
    encoding = getattr(stream, "encoding", None) or sys.getdefaultencoding()
    return str(encoding).lower().replace("-", "") == "utf8"
