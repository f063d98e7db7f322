"""Which recorded requests a replay sends (:class:`RequestFilter`), shared by the replay, each of
its workers and the Locust export, so that all of them choose alike."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from django_profilecmds.analysis.replay import ReplayStats
from django_profilecmds.replay.options import Progress, ReplayOptions, Source
from django_profilecmds.routing import match_path

if TYPE_CHECKING:
    from django.urls.resolvers import ResolverMatch

    from django_profilecmds.replay.recorded import ReplayRequest

SAFE_METHODS = frozenset({"GET", "HEAD"})
PROGRESS_EVERY = 0.2  # seconds between progress reports


@dataclass
class Eligible:
    """A request the replay sends, with the view it reaches."""

    request: ReplayRequest
    match: ResolverMatch


class RequestFilter:
    """Which requests of a source a replay sends: sampling, methods, resolution, ``--limit``,
    and this worker's share. Counts what it leaves out in ``stats`` (worker 0 only, so that
    merged counts are exact). The Locust export uses the same filter."""

    def __init__(self, options: ReplayOptions, stats: ReplayStats, worker: int = 0) -> None:
        from django_profilecmds.reports.redact import Redactor

        self.options = options
        self.stats = stats
        self.worker = worker
        self.read = 0
        # Paths and raw lines are printed and saved: values of tokens in them are masked.
        self.redactor = Redactor()

    @property
    def owns_totals(self) -> bool:
        return self.worker == 0

    def masked_path(self, path: str, match: ResolverMatch | None) -> str:
        """A recorded path as shown and saved: what its URL pattern captured under a sensitive
        name (a reset link's ``<token>``) masked too."""
        from django_profilecmds.reports.redact import MASK
        from django_profilecmds.reports.runredaction import route_secrets

        for value in route_secrets(match.kwargs if match is not None else {}):
            if value:
                path = path.replace(value, MASK)
        return self.masked(path)

    def masked(self, text: str) -> str:
        return self.redactor.text(text)

    def requests(self, source: Source, progress: Progress | None = None) -> Iterator[Eligible]:
        options = self.options
        stats = self.stats
        chooser = random.Random(options.seed)
        eligible = 0
        next_report = time.monotonic() + PROGRESS_EVERY
        for request in source:
            self.read += 1
            if progress is not None and self.read % 64 == 0 and time.monotonic() >= next_report:
                progress(self.read)
                next_report = time.monotonic() + PROGRESS_EVERY
            if options.sample is not None and chooser.random() >= options.sample:
                stats.sampled_out += self.owns_totals
                continue
            if request.method not in SAFE_METHODS and not options.include_unsafe:
                if self.owns_totals:
                    stats.skip_method(request.method)
                continue
            match = match_path(unquote(urlsplit(request.path).path))
            if match is None:
                if self.owns_totals:
                    stats.add_not_found(self.masked(request.path))
                continue
            if options.limit is not None and eligible >= options.limit:
                break
            eligible += 1
            if (eligible - 1) % options.workers == self.worker:
                yield Eligible(request, match)


def view_key(match: ResolverMatch) -> str:
    """The URL name (with its namespaces) when the pattern has one, else the view's path."""
    return str(match.view_name if match.url_name else match._func_path)
