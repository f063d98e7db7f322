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
    log = TrafficLog(
        [Path(path) for path in paths],
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

    series = build_series(log, seconds, progress=tick, mask=mask)
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
            "file": getattr(problem, "file", ""),
            "line": problem.line,
            "text": problem.text,
            "reason": problem.reason,
        }
        for problem in log.problems
    ]
    return analysis
