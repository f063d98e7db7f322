"""Which layer or view drives the response time: correlation analysis of logged traffic.

The method is a data scientist's rather than an engineer's hunch. The log's requests are put in
windows of time (a minute by default), which gives time series: the overall mean response
time; each layer's time per request (the database, the cache, an upstream, as the log has
them); each view's mean response time and its number of requests. Every series then loses its
trend by first differences, ``y'(t) = y(t) - y(t-1)``, because two series that both rise with
the day's traffic correlate without one driving the other. What is left of each series is
tested against what is left of the overall response time: Pearson's r with its two-sided
p-value (Student's t). Many series are tested at once, so a correlation is called significant
only when the false discovery rate, controlled by Benjamini-Hochberg, stays under ``alpha``.

No request is sent: each logged path is resolved to its view (the project's URLconf, cached)
and that is all. One pass over the log; memory grows with windows x views, never with lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from django_profilecmds.exceptions import ProfileCmdsError

if TYPE_CHECKING:
    from django_profilecmds.traffic.timed import TimedRequest

__all__ = [
    "MIN_WINDOWS",
    "SeriesResult",
    "TrafficAnalysis",
    "TrafficSeries",
    "analyse",
    "build_series",
    "parse_window",
]

MIN_WINDOWS = 10  # differenced windows (pairs of neighbours with data) a series needs to be tested
TREND_ONLY_R = 0.5  # |r| before differencing above which a series that fails after is "trend only"
RESOLVED_PATHS = 50_000  # paths kept resolved while a log is read
CHARTED = 4  # series drawn beside the overall response time in the HTML report

LAYER = "layer"
VIEW_TIME = "view time"
VIEW_TRAFFIC = "view traffic"


class TrafficError(ProfileCmdsError, ValueError):
    """The analysis cannot be made as asked (its options)."""


def parse_window(text: str) -> float:
    """``30s``, ``1m``, ``5m``, ``1h`` or a number of seconds, as seconds."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    value = text.strip().lower()
    scale = 1.0
    if value and value[-1] in units:
        scale = units[value[-1]]
        value = value[:-1]
    try:
        seconds = float(value) * scale
    except ValueError:
        raise TrafficError(
            f"--window must be a duration such as 30s, 1m or 1h, got {text!r}."
        ) from None
    if not math.isfinite(seconds) or seconds < 1:
        raise TrafficError(f"--window must be at least one second, got {text!r}.")
    return seconds


@dataclass
class _Window:
    total: float = 0.0
    count: int = 0
    views: dict[str, list[float]] = field(default_factory=dict)  # view -> [time, requests]
    layers: dict[str, float] = field(default_factory=dict)


@dataclass
class _View:
    key: str
    function: str
    requests: int = 0
    total: float = 0.0
    slowest: float = -1.0
    slowest_method: str = "GET"
    slowest_path: str = ""


@dataclass
class TrafficSeries:
    """The windows of a log: what :func:`analyse` tests. Built by :func:`build_series`."""

    window: float
    windows: dict[int, _Window] = field(default_factory=dict)
    views: dict[str, _View] = field(default_factory=dict)
    layers: set[str] = field(default_factory=set)
    requests: int = 0
    not_a_view: int = 0
    not_a_view_examples: list[str] = field(default_factory=list)
    first: float | None = None
    last: float | None = None

    def add(self, request: TimedRequest, view: str, function: str, shown_path: str) -> None:
        self.requests += 1
        index = math.floor(request.time / self.window)
        bucket = self.windows.get(index)
        if bucket is None:
            bucket = self.windows[index] = _Window()
        duration = request.duration
        bucket.total += duration
        bucket.count += 1
        cell = bucket.views.get(view)
        if cell is None:
            bucket.views[view] = [duration, 1.0]
        else:
            cell[0] += duration
            cell[1] += 1
        for layer, seconds in request.layers.items():
            bucket.layers[layer] = bucket.layers.get(layer, 0.0) + seconds
            self.layers.add(layer)
        meta = self.views.get(view)
        if meta is None:
            meta = self.views[view] = _View(view, function)
        meta.requests += 1
        meta.total += duration
        if duration > meta.slowest:
            meta.slowest = duration
            meta.slowest_method = request.method
            meta.slowest_path = shown_path
        if self.first is None or request.time < self.first:
            self.first = request.time
        if self.last is None or request.time > self.last:
            self.last = request.time

    @property
    def total_time(self) -> float:
        return sum(view.total for view in self.views.values())

    def span(self) -> range:
        """Every window from the first to the last, the empty ones included."""
        if not self.windows:
            return range(0)
        return range(min(self.windows), max(self.windows) + 1)

    def overall(self) -> list[float]:
        """Mean response time per window (NaN for a window without requests)."""
        nan = math.nan
        return [
            (w.total / w.count) if (w := self.windows.get(i)) is not None and w.count else nan
            for i in self.span()
        ]

    def layer_time(self, layer: str) -> list[float]:
        """The layer's time per request, per window."""
        nan = math.nan
        return [
            (w.layers.get(layer, 0.0) / w.count)
            if (w := self.windows.get(i)) is not None and w.count
            else nan
            for i in self.span()
        ]

    def view_time(self, view: str) -> list[float]:
        """The view's mean response time per window (NaN where it had no request)."""
        values = []
        for i in self.span():
            w = self.windows.get(i)
            cell = w.views.get(view) if w is not None else None
            values.append(cell[0] / cell[1] if cell else math.nan)
        return values

    def view_traffic(self, view: str) -> list[float]:
        """The view's requests per window (0 where it had none; NaN where no request came)."""
        values = []
        for i in self.span():
            w = self.windows.get(i)
            if w is None or not w.count:
                values.append(math.nan)
                continue
            cell = w.views.get(view)
            values.append(cell[1] if cell else 0.0)
        return values


def build_series(
    requests: Iterable[TimedRequest],
    window: float = 60.0,
    *,
    match: Callable[[str], Any] | None = None,
    progress: Callable[[], None] | None = None,
    mask: Callable[[str, Any], str] | None = None,
) -> TrafficSeries:
    """Put each request in its window under the view its path resolves to (no request is sent).

    ``match`` resolves a path (default: the project's URLconf, cached); a path no view answers
    (a static file the web server served, a 404) is counted apart, not in any series.
    ``mask`` gives the path as shown (the slowest request's path is printed).
    """
    from django_profilecmds.replay.selection import view_key

    if match is None:
        from django_profilecmds.routing import match_path

        match = match_path
    series = TrafficSeries(window)
    keys: dict[int, tuple[str, str]] = {}  # id(match) -> (view key, function path)
    # Logs repeat their paths: each is resolved once (a bounded cache, emptied when full, as
    # a log of unique paths, ids in them, must not grow it without end).
    resolved: dict[str, Any] = {}
    step = 0
    for request in requests:
        step += 1
        if progress is not None and not step & 1023:
            progress()
        raw = request.path
        try:
            found = resolved[raw]
        except KeyError:
            if len(resolved) >= RESOLVED_PATHS:
                resolved.clear()
            found = resolved[raw] = match(unquote(raw))
        if found is None:
            series.not_a_view += 1
            if len(series.not_a_view_examples) < 5:
                shown = mask(request.path, None) if mask else request.path
                if shown not in series.not_a_view_examples:
                    series.not_a_view_examples.append(shown)
            continue
        known = keys.get(id(found))
        if known is None:
            known = keys[id(found)] = (view_key(found), str(found._func_path))
        view, function = known
        series.add(request, view, function, raw)
    if mask is not None:  # what the slowest path's pattern captured under sensitive names
        for meta in series.views.values():
            meta.slowest_path = mask(meta.slowest_path, match(unquote(meta.slowest_path)))
    return series


@dataclass(frozen=True)
class SeriesResult:
    """One series tested against the overall response time (or found too short to test)."""

    kind: str  # LAYER, VIEW_TIME or VIEW_TRAFFIC
    name: str  # the layer, or the view (its URL name, else its dotted path)
    windows: int  # differenced windows the test used
    tested: bool
    r: float | None = None  # after first differences
    p_value: float | None = None
    q_value: float | None = None  # Benjamini-Hochberg adjusted
    r_before: float | None = None  # the same correlation before differencing
    significant: bool = False
    share: float | None = None  # a view's share of the total time
    requests: int | None = None
    command: str | None = None  # profile_view of a view's slowest request

    @property
    def trend_only(self) -> bool:
        """Correlated before differencing and not after: a shared trend, not a driver."""
        return (
            self.tested
            and not self.significant
            and self.r_before is not None
            and abs(self.r_before) >= TREND_ONLY_R
        )

    def describe(self) -> str:
        """``the SQL layer``, ``the response time of shop:detail``, ``the traffic to ...``."""
        if self.kind == LAYER:
            return f"the {self.name} layer"
        if self.kind == VIEW_TIME:
            return f"the response time of {self.name}"
        return f"the traffic to {self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "windows": self.windows,
            "tested": self.tested,
            "r": self.r,
            "p_value": self.p_value,
            "q_value": self.q_value,
            "r_before": self.r_before,
            "significant": self.significant,
            "trend_only": self.trend_only,
            "share": self.share,
            "requests": self.requests,
            "command": self.command,
        }


@dataclass
class TrafficAnalysis:
    """What a log's traffic says: the series that move with the overall response time."""

    window: float
    alpha: float
    requests: int
    views: int
    windows: int  # from the first to the last window, empty ones included
    total_time: float
    first: float | None
    last: float | None
    not_a_view: int
    not_a_view_examples: list[str]
    results: list[SeriesResult]  # drivers first (by r), then the rest by |r|, then untested
    charts: dict[str, list[float | None]]  # name -> per-window values, "overall" first
    view_rows: list[dict[str, Any]]  # views by share of time
    min_windows: int = MIN_WINDOWS
    # What was read (filled in by analyse_traffic): file name -> format, lines, skipped lines.
    sources: dict[str, str] = field(default_factory=dict)
    lines: int = 0
    skipped: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tested(self) -> list[SeriesResult]:
        return [result for result in self.results if result.tested]

    @property
    def drivers(self) -> list[SeriesResult]:
        return [result for result in self.results if result.significant and (result.r or 0) > 0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "alpha": self.alpha,
            "requests": self.requests,
            "views": self.views,
            "windows": self.windows,
            "total_time": self.total_time,
            "first": self.first,
            "last": self.last,
            "not_a_view": self.not_a_view,
            "not_a_view_examples": self.not_a_view_examples,
            "tested": len(self.tested),
            "results": [result.to_dict() for result in self.results],
            "charts": self.charts,
            "view_rows": self.view_rows,
            "min_windows": self.min_windows,
            "sources": self.sources,
            "lines": self.lines,
            "skipped": self.skipped,
            "problems": self.problems,
        }


def _paired(x: list[float], y: list[float]) -> tuple[list[float], list[float]]:
    """First differences of both series, where both have a value in a window and the one
    before it."""
    dx: list[float] = []
    dy: list[float] = []
    for t in range(1, len(x)):
        a0, a1, b0, b1 = x[t - 1], x[t], y[t - 1], y[t]
        if a0 == a0 and a1 == a1 and b0 == b0 and b1 == b1:  # none is NaN
            dx.append(a1 - a0)
            dy.append(b1 - b0)
    return dx, dy


def _levels(x: list[float], y: list[float]) -> tuple[list[float], list[float]]:
    pairs = [(a, b) for a, b in zip(x, y, strict=True) if a == a and b == b]
    return [a for a, _ in pairs], [b for _, b in pairs]


def analyse(
    series: TrafficSeries,
    *,
    alpha: float = 0.05,
    min_windows: int = MIN_WINDOWS,
    command: Callable[[str, str], str] | None = None,
) -> TrafficAnalysis:
    """Test each layer's time, each view's response time and each view's traffic against the
    overall response time, after first differences; Benjamini-Hochberg at ``alpha``."""
    from django_profilecmds.analysis.correlation import benjamini_hochberg, pearson

    if not 0 < alpha < 1:
        raise TrafficError(f"--alpha must be between 0 and 1, got {alpha}.")
    overall = series.overall()
    total = series.total_time
    candidates: list[tuple[str, str, list[float]]] = []
    for layer in sorted(series.layers):
        candidates.append((LAYER, layer, series.layer_time(layer)))
    ranked_views = sorted(series.views.values(), key=lambda view: (-view.total, view.key))
    for view in ranked_views:
        candidates.append((VIEW_TIME, view.key, series.view_time(view.key)))
        candidates.append((VIEW_TRAFFIC, view.key, series.view_traffic(view.key)))
    raw: list[dict[str, Any]] = []
    for kind, name, values in candidates:
        dx, dy = _paired(values, overall)
        entry: dict[str, Any] = {"kind": kind, "name": name, "windows": len(dx), "values": values}
        if kind != LAYER:
            meta = series.views[name]
            entry["share"] = meta.total / total if total else 0.0
            entry["requests"] = meta.requests
            if command is not None:
                entry["command"] = command(meta.slowest_method, meta.slowest_path)
        if len(dx) >= min_windows:
            after = pearson(dx, dy)
            entry.update(tested=True, r=after.r, p_value=after.p_value)
            lx, ly = _levels(values, overall)
            entry["r_before"] = pearson(lx, ly).r if len(lx) >= 3 else None
        else:
            entry["tested"] = False
        raw.append(entry)
    tested = [entry for entry in raw if entry["tested"]]
    adjusted = benjamini_hochberg([entry["p_value"] for entry in tested])
    for entry, q in zip(tested, adjusted, strict=True):
        entry["q_value"] = q
        entry["significant"] = q <= alpha
    results = [SeriesResult(**{k: v for k, v in entry.items() if k != "values"}) for entry in raw]

    def order(result: SeriesResult) -> tuple[int, float]:
        if not result.tested:
            return (3, 0.0)
        if result.significant and (result.r or 0) > 0:
            return (0, -(result.r or 0))
        if result.significant:
            return (1, result.r or 0)
        return (2, -abs(result.r or 0))

    results.sort(key=order)
    values_of = {(entry["kind"], entry["name"]): entry["values"] for entry in raw}
    charts: dict[str, list[float | None]] = {"overall": _nullable(overall)}
    for result in [r for r in results if r.tested][:CHARTED]:
        charts[f"{result.kind}: {result.name}"] = _nullable(values_of[(result.kind, result.name)])
    view_rows = [
        {
            "view": view.key,
            "function": view.function,
            "requests": view.requests,
            "total": view.total,
            "mean": view.total / view.requests,
            "share": view.total / total if total else 0.0,
            "slowest": view.slowest,
            "command": command(view.slowest_method, view.slowest_path) if command else None,
        }
        for view in ranked_views
    ]
    return TrafficAnalysis(
        window=series.window,
        alpha=alpha,
        requests=series.requests,
        views=len(series.views),
        windows=len(series.span()),
        total_time=total,
        first=series.first,
        last=series.last,
        not_a_view=series.not_a_view,
        not_a_view_examples=series.not_a_view_examples,
        results=results,
        charts=charts,
        view_rows=view_rows,
        min_windows=min_windows,
    )


def _nullable(values: list[float]) -> list[float | None]:
    return [None if value != value else value for value in values]
