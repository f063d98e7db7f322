"""The replay engine: one spec per recorded request, sent through the same harness, builder
and resolver as ``profile_view``, with the same sandbox, in one process or in workers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from django_profilecmds.analysis.replay import ReplayStats
from django_profilecmds.collectors import NULL_OBSERVER
from django_profilecmds.drivers.fullstack import FullStackDriver
from django_profilecmds.harness import Harness
from django_profilecmds.replay.engine import (
    ReplayOptions,
    RequestFilter,
    replay_file,
    replay_spec,
)
from django_profilecmds.replay.sources import ReplayRequest, open_source
from tests.smtp_sink import smtp_sink
from tests.test_sandbox_effects import MESSAGES, mail_settings
from tests.testapp.models import Author

pytestmark = pytest.mark.django_db(databases="__all__")

FIXTURES = Path(__file__).parent / "fixtures" / "replay"
LINE = '203.0.113.9 - - [20/Nov/2026:10:00:00 +0000] "GET {path} HTTP/1.1" 200 4 "-" "curl/8"\n'


def echoed(request: ReplayRequest, options: ReplayOptions) -> dict[str, Any]:
    """What the echo view saw of ``request`` replayed with ``options``."""
    spec = replay_spec(request, options)
    with Harness.for_spec(spec) as harness:
        outcome = harness.send(spec, FullStackDriver(is_async=False), NULL_OBSERVER)
    assert outcome.response is not None, outcome.error
    return json.loads(outcome.response.content)  # type: ignore[attr-defined]


def test_a_recorded_request_reaches_the_view_as_it_was_recorded():
    request = ReplayRequest(
        "POST",
        "/echo/?page=2",
        {"content-type": "application/json", "x-custom": "kept", "accept-language": "de"},
        body='{"title": "Dune"}',
    )
    seen = echoed(request, ReplayOptions(host="testserver", include_unsafe=True))
    assert seen["method"] == "POST" and seen["GET"] == {"page": ["2"]}
    assert seen["body"] == '{"title": "Dune"}' and seen["content_type"] == "application/json"
    assert seen["custom"] == "kept" and seen["accept_language"] == "de"
    assert seen["host"] == "testserver" and seen["user"] is None


def test_a_recorded_user_is_logged_in_and_replay_user_stands_in_for_the_rest(member):
    options = ReplayOptions(user="ada@example.com")
    assert echoed(ReplayRequest("GET", "/echo/"), options)["user"] == "ada@example.com"
    assert replay_spec(ReplayRequest("GET", "/", user="7"), options).user == "7"


def test_a_recorded_method_outside_the_common_ones_is_still_sent():
    spec = replay_spec(ReplayRequest("PROPFIND", "/echo/"), ReplayOptions(include_unsafe=True))
    assert spec.request is not None and spec.request.method == "PROPFIND"
    assert echoed(ReplayRequest("PROPFIND", "/echo/"), ReplayOptions())["method"] == "PROPFIND"


def test_the_workers_shares_are_every_eligible_request_once():
    options = ReplayOptions(workers=3, sample=0.8, seed=4)
    single = RequestFilter(ReplayOptions(sample=0.8, seed=4), ReplayStats())
    everything = [e.request.line for e in single.requests(open_source(FIXTURES / "access.log"))]
    shares = [
        [e.request.line for e in RequestFilter(options, ReplayStats(), worker).requests(source)]
        for worker, source in enumerate(open_source(FIXTURES / "access.log") for _ in range(3))
    ]
    assert sorted(line for share in shares for line in share) == sorted(everything)
    assert all(shares) and len(everything) > 3


@pytest.mark.django_db(databases="__all__", transaction=True)
@pytest.mark.parametrize("workers", [1, 2])
# The SMTP server's thread is this test's own: the forked workers only connect to its socket
# (they would, if email escaped), never touch its locks.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_captured_email_holds_in_replay_with_and_without_workers(tmp_path, workers):
    log = tmp_path / "access.log"
    log.write_text(LINE.format(path="/mail/every-way/") * 4)
    directory = tmp_path / "mail"
    directory.mkdir()
    with smtp_sink() as sink, mail_settings(sink.port, directory):
        stats = replay_file(log, ReplayOptions(workers=workers))
    assert stats.replayed == 4 and stats.errors == 0
    assert stats.emails == 4 * MESSAGES
    assert sink.messages == [] and sink.connections == 0
    assert list(directory.iterdir()) == []


@pytest.mark.django_db(databases="__all__", transaction=True)
@pytest.mark.parametrize("workers", [1, 2])
def test_writes_are_rolled_back_in_replay_with_and_without_workers(tmp_path, workers):
    log = tmp_path / "log.jsonl"
    request = {
        "method": "POST",
        "path": "/books/create/",
        "body": "title=Dune",
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
    }
    log.write_text((json.dumps(request) + "\n") * 4)
    stats = replay_file(log, ReplayOptions(workers=workers, include_unsafe=True))
    assert stats.replayed == 4 and stats.errors == 0
    assert Author.objects.count() == 0


def test_a_recorded_target_keeps_everything_after_its_question_mark():
    seen = echoed(ReplayRequest("GET", "/echo/?q=a#b&page=2"), ReplayOptions())
    assert seen["GET"] == {"q": ["a#b"], "page": ["2"]}
