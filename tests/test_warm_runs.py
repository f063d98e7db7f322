"""Warm by default: one uncounted run first, so the counts are those a second request sees
in a live process; ``--warmup 0`` shows the cold process, and says so. Each run starts from
the same files as from the same data."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_profilecmds import profile_call, profile_request
from tests.test_nplusone_hints import library  # noqa: F401  (the fixture)
from tests.test_sandbox_effects import storages_in  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db(databases="__all__")

# A generic foreign key looks its content types up once per process: the first request runs
# those queries, a second one does not.
PATH = "/n/labelled/"


@pytest.fixture
def cold_process():
    ContentType.objects.clear_cache()
    yield
    ContentType.objects.clear_cache()


def _second_request_count(path: str) -> int:
    ContentType.objects.clear_cache()
    client = Client()
    client.get(path)
    with CaptureQueriesContext(connection) as second:
        assert client.get(path).status_code == 200
    ContentType.objects.clear_cache()
    return len(second)


def test_default_counts_equal_a_second_test_client_request(library, cold_process):  # noqa: F811
    expected = _second_request_count(PATH)
    warm = profile_request(PATH, profiler="none")
    assert warm.spec.warmup == 1
    assert warm.query_count == expected
    ContentType.objects.clear_cache()
    cold = profile_request(PATH, profiler="none", warmup=0)
    assert cold.query_count == expected + 2  # the content types of novels and writers


def test_the_summary_says_warm_or_cold(library, cold_process):  # noqa: F811
    out = StringIO()
    call_command("profile_view", PATH, "--no-files", "--profiler", "none", stdout=out)
    assert "1 run after 1 warm-up run" in out.getvalue()
    ContentType.objects.clear_cache()
    out = StringIO()
    call_command(
        "profile_view", PATH, "--no-files", "--profiler", "none", "--warmup", "0", stdout=out
    )
    text = out.getvalue()
    assert "1 run, cold process" in text
    expected = _second_request_count(PATH) + 2
    assert f"SQL: {expected} queries" in text


def test_lineprof_and_profile_call_are_warm_too(library, cold_process):  # noqa: F811
    call = profile_call("tests.nplusone.views.lookups", profiler="none")
    assert call.spec.warmup == 1
    out = StringIO()
    call_command("lineprof", "tests.nplusone.views.labelled", "--url", PATH, stdout=out)
    assert "after 1 warm-up run" in out.getvalue()


def test_runs_that_keep_their_effects_are_not_repeated_for_a_warm_up(library):  # noqa: F811
    assert profile_request(PATH, profiler="none", commit=True).spec.warmup == 0
    assert profile_request(PATH, profiler="none", capture_email=False).spec.warmup == 0
    out = StringIO()
    call_command("profile_command", "make_books", no_files=True, profiler="none", stdout=out)
    assert ", cold process" in out.getvalue()


def test_a_file_the_warm_up_wrote_is_gone_when_the_counted_run_starts(storages_in):  # noqa: F811
    result = profile_request("/files/", profiler="none")
    body = json.loads(result.response.body_preview)
    # As on the first run: the real storage's files, and this run's own.
    assert body["uploads"] == ["new.txt", "old.txt"]
    assert body["doomed_exists"] is False
    assert sorted(result.files_written) == ["existing.txt", "report.csv", "uploads/new.txt"]


def test_a_raising_view_is_logged_once_not_once_per_warm_up(db, caplog):
    with caplog.at_level("ERROR", logger="django.request"):
        result = profile_request("/explode/", profiler="none", warmup=2)
    assert result.status == 500
    logged = [r for r in caplog.records if r.name == "django.request"]
    assert len(logged) == 1 and "Internal Server Error: /explode/" in logged[0].getMessage()
