"""What the profiling commands share: request options, building the spec, printing results.

Commands stay thin: they parse, call the library and print; this module only does that too.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from django_profilecmds.management.output import RedactedOutputCommand

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")  # as in spec.py


def add_request_arguments(parser: argparse.ArgumentParser) -> None:
    request = parser.add_argument_group("request")
    request.add_argument(
        "--user", help="Send the request as this user: primary key, username or email."
    )
    request.add_argument(
        "--method", default="GET", type=str.upper, help=f"HTTP method: {', '.join(HTTP_METHODS)}."
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
    request.add_argument("--host", help="Host header (default: the first entry of ALLOWED_HOSTS).")
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
    run = parser.add_argument_group("run")
    run.add_argument("--repeat", type=int, default=1, help="Counted runs (default 1).")
    run.add_argument("--warmup", type=int, default=0, help="Uncounted runs first.")
    run.add_argument(
        "--commit", action="store_true", help="Keep the database changes (no rollback)."
    )
    run.add_argument(
        "--send-email", action="store_true", help="Really send email (default: captured)."
    )
    run.add_argument(
        "--isolate-cache",
        action="store_true",
        help="Run on private in-memory caches instead of the project's (whose writes stay).",
    )
    output = parser.add_argument_group("output")
    output.add_argument("--output-dir", help="Where report files go (default: profiles/).")
    output.add_argument("--no-files", action="store_true", help="Write no report files.")
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
        default=0.05,
        help="A smaller relative change of the median is noise (default 0.05).",
    )


def load_baseline(options: dict[str, Any]) -> dict[str, Any] | None:
    """Check --alpha and --min-change and read the --compare file, before anything runs."""
    from django_profilecmds.analysis import compare

    compare.check_alpha(options["alpha"], options["min_change"])
    return compare.load_samples(Path(options["compare"])) if options["compare"] else None


def add_profiler_arguments(parser: argparse.ArgumentParser) -> None:
    """Profiler, SQL and budget options, shared by every command that profiles."""
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


SQL_MODES = ("summary", "full", "none")


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


def call_spec(dotted: str, options: dict[str, Any]) -> Any:
    from django_profilecmds.spec import CallSpec, parse_call_arguments

    positional, named = parse_call_arguments(options["call_args"], options["call_kwargs"])
    return CallSpec(dotted, positional, named, input=options["input"])


def profiler_options(options: dict[str, Any]) -> dict[str, Any]:
    """The RunSpec fields set by ``add_profiler_arguments``."""
    from django_profilecmds.analysis.budgets import Budgets
    from django_profilecmds.conf import get_settings
    from django_profilecmds.exceptions import InvalidOption

    if options["sql"] not in SQL_MODES:
        raise InvalidOption(
            f"Unknown --sql mode {options['sql']!r}; choose from {', '.join(SQL_MODES)}."
        )
    conf = get_settings()
    return {
        "profiler": options["profiler"] or conf["PROFILER"],
        "interval": conf["INTERVAL"] if options["interval"] is None else options["interval"],
        "nplusone_threshold": options["nplusone_threshold"],
        "explain": options["explain"] or options["explain_analyze"],
        "explain_top": options["explain_top"],
        "explain_analyze": options["explain_analyze"],
        "budgets": Budgets(
            max_queries=options["max_queries"],
            max_duplicates=options["max_duplicates"],
            max_db_time_ms=options["max_db_time_ms"],
        ),
    }


def request_spec(path: str, options: dict[str, Any]) -> Any:
    from django_profilecmds.spec import RequestSpec, load_json_body, parse_data, parse_headers

    return RequestSpec(
        path=path,
        method=options["method"],
        data=parse_data(options["data"]),
        json_body=load_json_body(options["json"]),
        headers=parse_headers(options["header"]),
        host=options["host"],
        secure=options["secure"],
        enforce_csrf=options["enforce_csrf"],
    )


def sandbox_options(options: dict[str, Any]) -> dict[str, Any]:
    """The RunSpec fields set by ``add_run_arguments``: runs, rollback and email."""
    return {
        "repeat": options["repeat"],
        "warmup": options["warmup"],
        "commit": options["commit"],
        "capture_email": not options["send_email"],
        "isolate_cache": options["isolate_cache"],
    }


def run_options(options: dict[str, Any]) -> dict[str, Any]:
    """The RunSpec fields of a command that sends requests: who, how, and the sandbox."""
    from django_profilecmds.exceptions import InvalidOption

    if options["direct"] and options["asgi"]:
        raise InvalidOption("Use either --direct or --asgi, not both.")
    return {
        "user": options["user"],
        "driver": "direct" if options["direct"] else "asgi" if options["asgi"] else "full",
        **sandbox_options(options),
    }


class ProfilingCommand(RedactedOutputCommand):
    """Runs a spec, writes the files, prints the summary; subclasses add their own report."""

    def profile(
        self, spec: Any, options: dict[str, Any], baseline: dict[str, Any] | None = None
    ) -> Any:
        """Run ``spec`` and write its files; library errors become ``CommandError``.

        With ``baseline`` (a document read by ``load_baseline``) the result carries the
        comparison; with ``options["save"]`` its samples are saved.
        """
        from django_profilecmds.conf import get_settings
        from django_profilecmds.exceptions import ProfileCmdsError

        try:
            directory = None
            if not options["no_files"]:
                from django_profilecmds.reports.files import prepare_output_dir

                directory = prepare_output_dir(
                    options["output_dir"] or get_settings()["OUTPUT_DIR"]
                )
            from django_profilecmds.reports.runredaction import spec_secrets
            from django_profilecmds.runner import run

            # Known before it runs: what the code prints while it runs is masked too.
            self.protect(spec_secrets(spec))
            result = run(spec)
            self.protect(result.secrets)
            if options.get("save") or baseline is not None:
                self.compare_and_save(result, options, baseline)
            if directory is not None:
                from django_profilecmds.reports.files import write_reports

                write_reports(result, directory, speedscope=options["speedscope"])
        except ProfileCmdsError as exc:
            raise CommandError(str(exc)) from exc
        return result

    def compare_and_save(
        self, result: Any, options: dict[str, Any], baseline: dict[str, Any] | None
    ) -> None:
        import dataclasses

        from django_profilecmds.analysis import compare

        document = compare.samples_document(
            "profile_view", result.spec.title.split("?", 1)[0], compare.run_entries(result)
        )
        if baseline is not None:
            changes = compare.compare(baseline, document, options["alpha"], options["min_change"])
            result.comparison = [dataclasses.asdict(change) for change in changes]
            result.comparison_settings = comparison_settings(options, baseline)
        if options.get("save"):
            # The file is shared to compare with later: masked like everything else written.
            safe = self.redactor.data(document)
            result.files["samples"] = compare.save_samples(Path(options["save"]), safe)

    def print_comparison(self, result: Any, options: dict[str, Any]) -> None:
        if not result.comparison:
            return
        from django_profilecmds.analysis.compare import Change
        from django_profilecmds.reports.replaytext import render_changes

        changes = [Change(**change) for change in result.comparison]
        self.stdout.write("")
        self.stdout.write(render_changes(changes, options["alpha"], options["min_change"]))
        if min(len(result.runs), changes[0].n_before or 0) < 5:
            self.stdout.write(
                self.style.WARNING(
                    "  Few samples: use --repeat 20 (and --warmup) on both sides to detect "
                    "changes a test can tell from noise."
                )
            )

    def print_summary(self, result: Any, options: dict[str, Any]) -> None:
        from django_profilecmds.reports import text

        write = self.stdout.write
        write(text.heading(result))
        style = self.style.ERROR if result.failed else self.style.SUCCESS
        write("  " + style(text.status_line(result)))
        write("  " + text.measures_line(result))
        if len(result.runs) > 1:
            write("  " + text.distribution_line(result))
        write("  " + text.safety_line(result))
        caches = text.cache_line(result)
        if caches:
            write("  " + caches)
        for warning in result.warnings:
            write("  " + self.style.WARNING(warning))
        if options["verbosity"] >= 2:
            write("")
            write(text.runs_table(result))
            for email in result.emails:
                write(f"  email: {email.subject!r} to {', '.join(email.to)}")

    def print_reports(self, result: Any, options: dict[str, Any]) -> None:
        """SQL summary (or every query), then the call tree or cProfile's table."""
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

    def make_spec(self, build: Any) -> Any:
        """Build a RunSpec, turning bad option values into CommandError."""
        from django_profilecmds.exceptions import ProfileCmdsError

        try:
            return build()
        except ProfileCmdsError as exc:
            raise CommandError(str(exc)) from exc

    def finish(self, result: Any, options: dict[str, Any]) -> None:
        """Errors of the profiled code, the files written, and the exit status."""
        for error in result.errors:
            self.stderr.write("")
            self.stderr.write(error.rstrip("\n"), style_func=lambda s: s)
        if result.files:
            self.stdout.write("")
            self.stdout.write("Reports:")
            for kind, path in result.files.items():
                note = " (every run in the directory)" if kind == "index" else ""
                self.stdout.write(f"  {display_path(path)}{note}")
            if options["open"] and "html" in result.files:
                import webbrowser

                webbrowser.open(result.files["html"].as_uri())
        if result.refused:
            self.stderr.write("")
            self.stderr.write(
                "Refused, so that nothing escapes the rollback (nothing was committed):"
            )
            for refusal in result.refused:
                self.stderr.write(f"  {refusal}", style_func=lambda s: s)
        spec = result.spec
        subject = "The view" if spec.request else "The call" if spec.call else "The command"
        if result.refused:
            raise CommandError(
                f"{subject} tried to write outside the sandbox's transaction: "
                f"{len(result.refused)} statement(s) refused, listed above."
            )
        if result.failed:
            what = "raised an exception" if result.errors else f"answered {result.status}"
            raise CommandError(f"{subject} {what}; the profile above is still complete.")
        if result.budget_failures:
            raise CommandError(
                "Budget exceeded:\n  " + "\n  ".join(result.budget_failures), returncode=3
            )

    def color(self, options: dict[str, Any]) -> bool:
        if options.get("no_color"):
            return False
        return bool(options.get("force_color")) or self.stdout.isatty()


def comparison_settings(options: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """What the reports say about how a comparison was made."""
    return {
        "alpha": options["alpha"],
        "min_change": options["min_change"],
        "min_change_pct": 100 * options["min_change"],
        "baseline": str(options["compare"]),
        "baseline_commit": baseline.get("git_commit", ""),
        "baseline_created": baseline.get("created", ""),
    }


def display_path(path: Any) -> str:
    """Relative to the working directory when the file is below it: shorter to read and click."""
    try:
        return str(path.relative_to(os.getcwd()))
    except ValueError:
        return str(path)


def unicode_ok(stream: Any) -> bool:
    encoding = getattr(stream, "encoding", None) or sys.getdefaultencoding()
    return str(encoding).lower().replace("-", "") == "utf8"
