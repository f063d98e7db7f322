"""``manage.py profile_replay access.log``: replay recorded traffic, rank views by their share."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from django_profilecmds.analysis.grouping import GROUP_BY
from django_profilecmds.analysis.metrics import METRICS
from django_profilecmds.management.base import ProfilingCommand, display_path
from django_profilecmds.management.from_options import (
    baseline_from_options,
    output_dir_from_options,
)
from django_profilecmds.management.options import (
    add_compare_arguments,
    add_files_arguments,
    add_host_argument,
    add_isolate_cache_argument,
    add_nplusone_argument,
    add_send_email_argument,
    add_user_argument,
    one_of,
    positive_int,
)
from django_profilecmds.replay.sources import FORMATS


class Command(ProfilingCommand):
    help = (
        "Replay recorded requests (nginx/Apache access log, HAR, or JSON lines) through the full "
        "Django stack, every one rolled back, and rank the views by their share of the total "
        "time. --save and --compare turn a before/after into a tested verdict."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("source", help="access log (combined/common), .har, or JSON lines")
        parser.add_argument(
            "--format",
            type=one_of(FORMATS, "format"),
            choices=FORMATS,
            help="Force the input format (default: detected from the content).",
        )
        who = parser.add_argument_group("requests")
        add_user_argument(who, "Send every request as this user (pk, username, email).")
        add_host_argument(who)
        who.add_argument(
            "--include-unsafe",
            action="store_true",
            help="Also replay POST, PUT, PATCH, DELETE... (still rolled back, email captured).",
        )
        who.add_argument("--limit", type=int, help="Replay at most this many requests.")
        who.add_argument("--sample", type=float, help="Replay this fraction of the requests.")
        who.add_argument("--seed", type=int, default=0, help="Seed of --sample (default 0).")
        who.add_argument(
            "--workers", type=int, default=1, help="Replay in this many processes (default 1)."
        )
        add_nplusone_argument(who)
        add_send_email_argument(who)
        add_isolate_cache_argument(who)
        add_compare_arguments(parser)
        verdict = parser.add_argument_group("verdict")
        verdict.add_argument(
            "--metric",
            type=one_of(METRICS, "--metric"),
            choices=METRICS,
            help="The time a verdict is taken on: cpu (the CPU time of the thread that ran the "
            "request, which other processes' load does not inflate; SQLite's queries run in "
            "that thread and count; a server's do not) or wall. Default: cpu when every "
            "database is SQLite, else wall.",
        )
        verdict.add_argument(
            "--against",
            metavar="REV",
            help="Replay every request on git revision REV of the project (A, checked out in a "
            "temporary worktree) and on this tree (B), in pairs, taking turns, in rounds of "
            "fresh processes, and test each view's rounds (Student's t): slower means this tree "
            "is.",
        )
        output = parser.add_argument_group("output")
        output.add_argument(
            "--group-by",
            type=one_of(GROUP_BY, "--group-by"),
            choices=GROUP_BY,
            default="view",
            help="Rows of the ranking: each view (default), or each view's requests by the "
            "template they rendered (template), or by the start of their path (path-prefix): "
            "one catch-all view, as a CMS has, split by page type.",
        )
        output.add_argument(
            "--path-segments",
            type=positive_int("--path-segments"),
            metavar="N",
            help="With --group-by path-prefix: the path's first N segments (default 1).",
        )
        output.add_argument(
            "--top", type=int, default=20, help="Rows (views, or groups) shown (default 20)."
        )
        add_files_arguments(output)
        output.add_argument(
            "--export-locust",
            metavar="FILE",
            help="Write a locustfile that sends the same requests, and replay nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django_profilecmds.analysis import compare as comparing
        from django_profilecmds.analysis.conditions import condition_warnings
        from django_profilecmds.analysis.grouping import check_baseline_grouping
        from django_profilecmds.analysis.replay import samples_entries
        from django_profilecmds.replay.engine import ReplayOptions, replay_file

        if options["top"] < 1:
            raise CommandError(f"--top must be at least 1, got {options['top']}.")
        segments = options["path_segments"]
        if segments is not None and options["group_by"] != "path-prefix":
            raise CommandError(
                "--path-segments counts the segments of --group-by path-prefix; pass "
                "--group-by path-prefix too."
            )
        source = Path(options["source"])
        replay_options = ReplayOptions(
            user=options["user"],
            host=options["host"],
            include_unsafe=options["include_unsafe"],
            limit=options["limit"],
            sample=options["sample"],
            seed=options["seed"],
            nplusone_threshold=options["nplusone_threshold"],
            workers=options["workers"],
            capture_email=not options["send_email"],
            isolate_cache=options["isolate_cache"],
            group_by=options["group_by"],
            path_segments=1 if segments is None else segments,
        )
        if options["against"] is not None:
            self._against(source, replay_options, options)
            return
        if options["export_locust"]:
            self._export(source, replay_options, options)
            return
        baseline = baseline_from_options(options)
        if options["metric"] is not None and baseline is None:
            raise CommandError(
                "--metric chooses the time a verdict is taken on: pass --compare FILE or "
                "--against REV too."
            )
        if baseline is not None:
            check_baseline_grouping(
                baseline.document,
                baseline.path,
                replay_options.group_by,
                replay_options.path_segments,
            )
        directory = None
        output_dir = output_dir_from_options(options)
        if output_dir is not None:
            from django_profilecmds.reports.files import prepare_output_dir

            directory = prepare_output_dir(output_dir)
        progress = Progress(self.stderr, source) if self.stderr.isatty() else None
        stats = replay_file(source, replay_options, options["format"], progress)
        if progress is not None:
            progress.done()
        from django_profilecmds.reports.replaytext import render_changes, render_replay

        self.stdout.write(render_replay(stats, user=options["user"], top=options["top"]))
        extra: dict[str, Any] = {
            "replay": stats.to_dict(),
            "user": options["user"],
            "conditions": stats.conditions,
        }
        document = comparing.samples_document("replay", source.name, samples_entries(stats), extra)
        changes = None
        if baseline is not None:
            document["comparison_settings"] = baseline.settings()
            changes = baseline.compare(document)
            differences = condition_warnings(baseline.document.get("conditions"), stats.conditions)
            document["comparison_settings"]["conditions_differ"] = differences
            self.stdout.write("")
            self.stdout.write(
                render_changes(
                    changes,
                    baseline.alpha,
                    baseline.min_change,
                    metric_line=baseline.describe_metric(),
                    unavailable=baseline.unavailable(),
                )
            )
            for difference in differences:
                self.stdout.write(f"Warning: {difference}")
        # Paths and skipped lines come from the log: what is saved is masked like what is shown.
        from django_profilecmds.reports.replayredaction import redact_replay_document

        document = redact_replay_document(self.redactor, document)
        written = []
        if options["save"]:
            written.append(comparing.save_samples(Path(options["save"]), document))
        if directory is not None:
            from django_profilecmds.reports.files import write_replay_reports

            written.extend(write_replay_reports(document, changes, directory))
        if written:
            self.stdout.write("")
            self.stdout.write("Files:")
            for path in written:
                self.stdout.write(f"  {display_path(path)}")
        if not stats.replayed:
            raise CommandError("No request was replayed: see above for what was left out and why.")
        if stats.refused_count:
            raise CommandError(
                f"{stats.refused_count} statement(s) that would have escaped the rollback were "
                "refused, listed above; nothing was committed."
            )

    def _against(self, source: Path, replay_options: Any, options: dict[str, Any]) -> None:
        """An A/B replay of this tree and ``--against``'s revision: a paired verdict per view."""
        from django_profilecmds.analysis.compare import check_alpha
        from django_profilecmds.analysis.metrics import choose_metric
        from django_profilecmds.analysis.paired import paired_verdicts
        from django_profilecmds.replay.against import replay_against
        from django_profilecmds.replay.sources import open_source
        from django_profilecmds.reports.againsttext import render_against

        for name in ("compare", "save", "export_locust"):
            if options[name]:
                flag = "--" + name.replace("_", "-")
                raise CommandError(f"--against compares two revisions in one run: drop {flag}.")
        if options["workers"] != 1:
            raise CommandError("--against replays in two processes of its own: drop --workers.")
        if options["group_by"] == "template":
            raise CommandError(
                "--against groups by view or path prefix: the revisions' templates may differ."
            )
        from django_profilecmds.management.from_options import (
            AGAINST_MIN_CHANGE,
            min_change_from_options,
        )

        min_change = min_change_from_options(options, AGAINST_MIN_CHANGE)
        check_alpha(options["alpha"], min_change)
        choice = choose_metric(options["metric"])
        output_dir = output_dir_from_options(options)
        directory = None
        if output_dir is not None:
            from django_profilecmds.reports.files import prepare_output_dir

            directory = prepare_output_dir(output_dir)
        opened = open_source(source, options["format"])
        progress = Progress(self.stderr, source) if self.stderr.isatty() else None
        replayed = replay_against(lambda: opened, replay_options, options["against"], progress)
        if progress is not None:
            progress.done()
        if not replayed.pairs:
            raise CommandError("No request was replayed on both sides: nothing to compare.")
        changes = paired_verdicts(
            replayed.rows, choice.metric, options["alpha"], min_change, replayed.round_of
        )
        self.stdout.write(
            render_against(
                replayed,
                changes,
                metric_line=choice.describe(),
                alpha=options["alpha"],
                min_change=min_change,
            )
        )
        if directory is not None:
            from django_profilecmds.reports.files import write_against_report
            from django_profilecmds.reports.replayredaction import redact_replay_document

            document = replayed.document(source.name, changes, choice, options)
            written = write_against_report(
                redact_replay_document(self.redactor, document), directory
            )
            self.stdout.write("")
            self.stdout.write("Files:")
            for path in written:
                self.stdout.write(f"  {display_path(path)}")

    def _export(self, source: Path, replay_options: Any, options: dict[str, Any]) -> None:
        from django_profilecmds.replay.locust import export_locustfile

        exported = export_locustfile(
            source, Path(options["export_locust"]), replay_options, options["format"]
        )
        self.stdout.write(
            f"Wrote {display_path(exported.path)}: {exported.requests} requests for "
            f"{exported.views} views. Run it with:\n"
            f"  locust -f {display_path(exported.path)} --host https://staging.example.com"
        )


class Progress:
    """``12,345/100,000 lines · 850 req/s · ETA 1m52s`` on one line of a terminal."""

    def __init__(self, stream: Any, source: Path) -> None:
        self.stream = stream
        self.total = _count_lines(source)
        self.started = time.monotonic()

    def __call__(self, read: int) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = read / elapsed
        text = f"{read:,}"
        if self.total:
            text += f"/{self.total:,} lines"
            if rate and read:
                remaining = max(self.total - read, 0) / rate
                text += f" · {rate:,.0f}/s · ETA {_duration(remaining)}"
        else:
            text += f" read · {rate:,.0f}/s"
        self.stream.write(f"\r{text}\x1b[K", ending="")
        self.stream.flush()

    def done(self) -> None:
        self.stream.write("\r\x1b[K", ending="")
        self.stream.flush()


def _count_lines(path: Path) -> int | None:
    """Lines in a plain-text log (a cheap pass over bytes); None for gzip or HAR files, and
    for a pipe or a device, which the replay itself must read."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            head = handle.read(2)
            if head == b"\x1f\x8b":
                return None
            count = head.count(b"\n")
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                count += chunk.count(b"\n")
    except OSError:
        return None
    if path.suffix.lower() == ".har":
        return None
    return count


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    return f"{seconds // 60}m{seconds % 60:02d}s"
