"""What the profiling commands share: one channel for errors, running a spec, printing results.

Commands stay thin: they parse (``options``), call the library and print; so does this module.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from django.core.management.base import CommandError

from django_profilecmds.management.from_options import (
    min_change_from_options,
    output_dir_from_options,
)
from django_profilecmds.management.output import (
    RedactedOutputCommand,
    request_errors_in_one_line,
)

if TYPE_CHECKING:
    from django_profilecmds.profiling import Baseline
    from django_profilecmds.result import RunResult
    from django_profilecmds.spec import RunSpec


class ProfilingCommand(RedactedOutputCommand):
    """Runs a spec, writes the files, prints the summary; subclasses add their own report.

    The one place where the library's errors (:class:`ProfileCmdsError`: a bad option value,
    an unknown user, an unwritable directory...) become a one-line ``CommandError``.
    """

    def execute(self, *args: Any, **options: Any) -> Any:
        from django_profilecmds.exceptions import ProfileCmdsError
        from django_profilecmds.reports.text import printable

        try:
            return super().execute(*args, **options)
        except ProfileCmdsError as exc:
            # Raised inside the redacted output, so masked here: the values of this run known.
            message = printable(str(exc))
            masked = self.redact(message)
            raise CommandError(masked) from (exc if masked == message else None)

    def profile(
        self,
        spec: RunSpec,
        options: dict[str, Any],
        *,
        save: str | os.PathLike[str] | None = None,
        baseline: Baseline | None = None,
    ) -> RunResult:
        """Run ``spec`` and write its files (see ``profiling.profile``); what it sends and
        what the run learns are masked in the command's output from then on."""
        from django_profilecmds.profiling import profile

        # finish() prints the code's tracebacks: Django's log of them stays one line.
        with request_errors_in_one_line():
            return profile(
                spec,
                output_dir=output_dir_from_options(options),
                speedscope=options["speedscope"],
                save=save,
                baseline=baseline,
                on_secrets=self.protect,
            )

    def route_to_views(
        self, targets: list[str], options: dict[str, Any], flag: str, advice: str
    ) -> dict[str, Any]:
        """``options`` with the URL path (``"path"``) and method that reach the views
        ``targets`` name, as the URL configuration routes them, and says so. ``flag``: the
        option that gives a path; ``advice``: what to do when no URL reaches them."""
        from django_profilecmds.viewroutes import NoViewRoute, view_route, view_targets

        try:
            path, method = view_route(view_targets(targets), options["method"])
        except NoViewRoute as exc:
            if exc.routes:
                raise
            raise CommandError(f"{exc} {advice}") from None
        shown = f"{flag}{path}"
        if method != (options["method"] or "GET"):
            shown += f" --method {method} (the URL and method routed to the target)."
        else:
            shown += " (the URL routed to the target)."
        self.stdout.write(self.style.NOTICE(f"Using {shown}"))
        return {**options, "path": path, "method": method}

    def print_comparison(self, result: RunResult, options: dict[str, Any]) -> None:
        if not result.comparison:
            return
        from django_profilecmds.analysis.compare import Change
        from django_profilecmds.reports.replaytext import render_changes

        changes = [Change(**change) for change in result.comparison]
        self.stdout.write("")
        self.stdout.write(
            render_changes(changes, options["alpha"], min_change_from_options(options))
        )
        if min(len(result.runs), changes[0].n_before or 0) < 5:
            self.stdout.write(
                self.style.WARNING(
                    "  Few samples: use --repeat 20 (and --warmup) on both sides to detect "
                    "changes a test can tell from noise."
                )
            )

    def print_summary(self, result: RunResult, options: dict[str, Any]) -> None:
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

    def print_reports(self, result: RunResult, options: dict[str, Any]) -> None:
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
            hot = "" if options["show_all"] else text.render_library_hot_path(result.calltree)
            if hot:
                write("")
                write(hot)
        if result.function_stats is not None:
            write("")
            write(text.render_function_stats(result))

    def finish(self, result: RunResult, options: dict[str, Any]) -> None:
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
                self._open(result.files["html"])
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

    def _open(self, report: Any) -> None:
        """The HTML report in the user's browser; when there is none to open it, a note (the
        run itself went well, so the exit status stays 0)."""
        import webbrowser

        if not webbrowser.open(report.as_uri()):
            self.stderr.write(
                f"--open: no web browser could be opened; the report is {display_path(report)}"
            )

    def color(self, options: dict[str, Any]) -> bool:
        if options.get("no_color"):
            return False
        return bool(options.get("force_color")) or self.stdout.isatty()


def display_path(path: Any) -> str:
    """Relative to the working directory when the file is below it: shorter to read and click."""
    try:
        return str(path.relative_to(os.getcwd()))
    except ValueError:
        return str(path)


def unicode_ok(stream: Any) -> bool:
    encoding = getattr(stream, "encoding", None) or sys.getdefaultencoding()
    return str(encoding).lower().replace("-", "") == "utf8"
