"""``analyse_traffic()``: a log read, its paths resolved and its series tested, as plain data."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django_profilecmds.traffic.analysis import (
    MIN_WINDOWS,
    TrafficAnalysis,
    analyse,
    build_series,
    parse_window,
)


def analyse_traffic(
    paths: Sequence[str | os.PathLike[str]],
    *,
    format: str = "auto",
    window: float | str = 60.0,
    alpha: float = 0.05,
    min_windows: int = MIN_WINDOWS,
    time_field: str | None = None,
    duration_field: str | None = None,
    duration_unit: str | None = None,
    layer_fields: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TrafficAnalysis:
    """Which layer, view or view's traffic moves with the response time in these logs.

    ``paths``: access logs (nginx with ``$request_time``, Apache with ``%D``, gunicorn with
    ``%(L)s``/``%(D)s``/``%(M)s``) or JSON lines, gzip rotations too, merged in time order.
    No request is sent. ``progress(bytes_read, bytes_total)`` is called now and then.
    Raises :class:`~django_profilecmds.exceptions.ProfileCmdsError` subclasses on bad input.
    """
    from django_profilecmds.reports.redact import Redactor
    from django_profilecmds.reports.replaytext import dig_command
    from django_profilecmds.reports.runredaction import route_secrets
    from django_profilecmds.traffic.analysis import TrafficError
    from django_profilecmds.traffic.logs import TrafficLog

    seconds = parse_window(window) if isinstance(window, str) else float(window)
    if not seconds >= 1:
        raise TrafficError(f"window must be at least one second, got {window!r}.")
    if min_windows < 3:
        raise TrafficError(f"min_windows must be at least 3, got {min_windows}.")
    if not 0 < alpha < 1:
        raise TrafficError(f"--alpha must be between 0 and 1, got {alpha}.")
    unique = list(dict.fromkeys(Path(path).resolve() for path in paths))  # a file given twice
    log = TrafficLog(
        unique,
        format=format,
        time_field=time_field,
        duration_field=duration_field,
        duration_unit=duration_unit,
        layer_fields=layer_fields,
    )
    redactor = Redactor()

    def mask(path: str, match: Any) -> str:
        # Paths are printed and saved: what a URL pattern captured under a sensitive name
        # (a reset link's <token>) and values of sensitive-looking tokens are masked.
        from django_profilecmds.reports.redact import MASK

        for value in route_secrets(match.kwargs if match is not None else {}):
            if value:
                path = path.replace(value, MASK)
        return str(redactor.text(path))

    tick = None
    if progress is not None:

        def tick() -> None:
            progress(log.bytes_read, log.bytes_total)

    series = build_series(log, seconds, progress=tick, mask=mask, apart=_served_apart())
    analysis = analyse(
        series,
        alpha=alpha,
        min_windows=min_windows,
        command=lambda method, path: dig_command(method, path, None),
    )
    analysis.sources = {Path(name).name: kind for name, kind in log.formats.items()}
    analysis.lines = log.lines_read
    analysis.skipped = log.skipped
    analysis.problems = [
        {
            "file": Path(problem.file).name if problem.file else "",
            "line": problem.line,
            # Not the line's text: a line that could not be read may hold a password, a key or
            # a cookie that no pattern recognises (a reset link's token). The log has it.
            "reason": str(redactor.text(problem.reason)),
        }
        for problem in log.problems
    ]
    return analysis


def _served_apart() -> tuple[str, ...]:
    """The path prefixes of static and media files (``STATIC_URL``, ``MEDIA_URL``), which the
    web server serves in production: not a view's response time, whatever DEBUG resolves."""
    from urllib.parse import urlsplit

    from django.conf import settings

    prefixes = []
    for name in ("STATIC_URL", "MEDIA_URL"):
        value = getattr(settings, name, None) or ""
        parts = urlsplit(str(value))
        if parts.netloc:  # another host (a CDN) serves them: not in this server's log
            continue
        path = parts.path if parts.path.startswith("/") else "/" + parts.path
        if path.strip("/"):  # never "/": that would be every path
            prefixes.append(path if path.endswith("/") else path + "/")
    return tuple(prefixes)
