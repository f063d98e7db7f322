"""Write a locustfile that sends recorded requests to a running server.

``profile_replay`` runs requests one at a time inside this process, which measures where the
time goes. Concurrency, a real web server and many machines are a load generator's job: the
locustfile sends the same requests (same filters: methods, ``--limit``, ``--sample``), named by
the view they reach so Locust's statistics line up with the replay's table.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django_profilecmds.exceptions import ProfileCmdsError

TEMPLATE = '''\
"""Replays {count} requests recorded in {source} (written by django-profilecmds).

    locust -f {name} --host https://staging.example.com
    locust -f {name} --master   # and on each load machine: locust -f {name} --worker

Requests are sent in the recorded order, round robin over the simulated users, without the
recorded cookies and credentials (values with sensitive names are masked). Every request is
sent anonymously: to log users in, fill in on_start().
"""

import itertools
import json

from locust import HttpUser, constant, task

# (method, path, headers, body, name): name is the Django view the path resolved to.
REQUESTS = json.loads(r\'\'\'{data}\'\'\')
_NEXT = itertools.cycle(REQUESTS)


class ReplayUser(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        """Log in here if the recorded requests need a user, e.g. with self.client.post()."""

    @task
    def replay(self):
        method, path, headers, body, name = next(_NEXT)
        self.client.request(method, path, headers=headers, data=body, name=name)
'''


@dataclass(frozen=True)
class Exported:
    path: Path
    requests: int
    views: int


def export_locustfile(source: Path, target: Path, options: Any, format: str | None) -> Exported:
    """Write ``target``: a locustfile sending the requests of ``source`` that a replay with
    ``options`` would send (unsafe methods only with ``include_unsafe``; no unresolvable paths)."""
    from django_profilecmds.analysis.replay import ReplayStats
    from django_profilecmds.replay.engine import RequestFilter, view_key
    from django_profilecmds.replay.recorded import SourceError
    from django_profilecmds.replay.sources import open_source

    try:
        requests = open_source(source, format)
    except SourceError as exc:
        raise ProfileCmdsError(str(exc)) from None
    rows: list[list[Any]] = []
    views: set[str] = set()
    # The same choice of requests a single-process replay with these options makes.
    single = dataclasses.replace(options, workers=1)
    chooser = RequestFilter(single, ReplayStats())
    redactor = chooser.redactor  # the file leaves the machine: no credential of the log in it
    for eligible in chooser.requests(requests):
        request = eligible.request
        name = view_key(eligible.match)
        views.add(name)
        headers = {k: v for k, v in request.headers.items() if not redactor.is_sensitive(k)}
        body = None if request.body is None else redactor.json_text(request.body)
        path = chooser.masked_path(request.path, eligible.match)
        rows.append([request.method, path, headers, body, name])
    if not rows:
        raise ProfileCmdsError(f"No request of {source} resolves to a view: nothing to export.")
    # No single quote in the data, so it fits a raw triple-quoted string whatever it holds.
    data = "[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]"
    data = data.replace("'", "\\u0027")
    text = TEMPLATE.format(count=len(rows), source=source.name, name=target.name, data=data)
    from django_profilecmds.reports.safewrite import write_file

    written = write_file(target, text, b"(written by django-profilecmds)", "--export-locust")
    return Exported(written, len(rows), len(views))
