"""``manage.py profile_traffic access.log``: which layer or view drives the response time."""

from __future__ import annotations

import argparse
import time
from typing import Any

from django_profilecmds.management.base import ProfilingCommand, display_path
from django_profilecmds.management.from_options import output_dir_from_options
from django_profilecmds.management.options import add_files_arguments, one_of, positive_int

FORMATS = ("auto", "nginx", "apache", "gunicorn", "jsonl")
UNITS = ("s", "ms", "us")


class Command(ProfilingCommand):
    help = (
        "Read the response times a log already holds (nginx $request_time, Apache %D, gunicorn, "
        "JSON lines with layer fields) and find what moves with the overall response time: a "
        "layer, a view's response time or a view's traffic. Windows of time, first "
        "differences, Pearson's r, Benjamini-Hochberg. No request is sent."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("logs", nargs="+", help="log files, gzip rotations too, any order")
        reading = parser.add_argument_group("reading")
        reading.add_argument(
            "--format",
            type=one_of(FORMATS, "format"),
            choices=FORMATS,
            default="auto",
            help="nginx (combined + $request_time [$upstream_response_time]), apache "
            "(combined + %%D), gunicorn (+ %%(L)s, %%(D)s or %%(M)s), jsonl "
            "(default: detected from the content).",
        )
        reading.add_argument(
            "--time-field", metavar="NAME", help="JSON lines: the field with the time."
        )
        reading.add_argument(
            "--duration-field",
            metavar="NAME",
            help="JSON lines: the field with the response time.",
        )
        reading.add_argument(
            "--duration-unit",
            type=one_of(UNITS, "--duration-unit"),
            choices=UNITS,
            help="Unit of the response time when the log does not say it: s, ms or us "
            "(gunicorn's %%(M)s is ms).",
        )
        reading.add_argument(
            "--layer-fields",
            metavar="A,B",
            help="JSON lines: the fields that hold each layer's time (default: every "
            "numeric *_ms, *_us or *_time field other than the duration).",
        )
        analysis = parser.add_argument_group("analysis")
        analysis.add_argument(
            "--window",
            default="1m",
            help="Length of a window of time: 30s, 1m (default), 5m, 1h.",
        )
        analysis.add_argument(
            "--alpha",
            type=float,
            default=0.05,
            help="False discovery rate under which a correlation is significant (default 0.05).",
        )
        analysis.add_argument(
            "--min-windows",
            type=positive_int("--min-windows"),
            default=10,
            metavar="N",
            help="Differenced windows a series needs to be tested (default 10).",
        )
        output = parser.add_argument_group("output")
        output.add_argument(
            "--top", type=positive_int("--top"), default=10, help="Rows shown (default 10)."
        )
        add_files_arguments(output)

    def handle(self, *args: Any, **options: Any) -> None:
        from django_profilecmds.reports.traffictext import render_traffic
        from django_profilecmds.traffic.run import analyse_traffic

        layers = options["layer_fields"]
        progress = Progress(self.stderr) if self.stderr.isatty() else None
        analysis = analyse_traffic(
            options["logs"],
            format=options["format"],
            window=options["window"],
            alpha=options["alpha"],
            min_windows=options["min_windows"],
            time_field=options["time_field"],
            duration_field=options["duration_field"],
            duration_unit=options["duration_unit"],
            layer_fields=[name.strip() for name in layers.split(",") if name.strip()]
            if layers
            else None,
            progress=progress,
        )
        if progress is not None:
            progress.done()
        sources = ", ".join(f"{name} as {kind}" for name, kind in analysis.sources.items())
        self.stdout.write(
            render_traffic(analysis, sources=sources, skipped=analysis.skipped, top=options["top"])
        )
        output_dir = output_dir_from_options(options)
        if output_dir is not None:
            from django_profilecmds.reports.files import prepare_output_dir, write_traffic_reports

            directory = prepare_output_dir(output_dir)

            written = write_traffic_reports(analysis, directory)
            self.stdout.write("")
            self.stdout.write("Files:")
            for path in written:
                self.stdout.write(f"  {display_path(path)}")


class Progress:
    """``42% of 1.2 GB · 38 MB/s`` on one line of a terminal."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.next = 0.0

    def __call__(self, read: int, total: int) -> None:
        now = time.monotonic()
        if now < self.next:
            return
        self.next = now + 0.2
        rate = read / max(now - self.started, 1e-9)
        text = f"{read / 1e6:,.0f} MB"
        if total:
            text = f"{100 * min(read / total, 1):.0f}% of {total / 1e6:,.0f} MB"
        self.stream.write(f"\r{text} · {rate / 1e6:,.1f} MB/s\x1b[K", ending="")
        self.stream.flush()

    def done(self) -> None:
        self.stream.write("\r\x1b[K", ending="")
        self.stream.flush()
