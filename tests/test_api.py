"""profile_request() and profile_call(): the functions users call from their own tests."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

import django_profilecmds
from django_profilecmds import profile_call, profile_request
from django_profilecmds.exceptions import (
    InvalidOption,
    PathNotFound,
    ProfileCmdsError,
    UserNotFound,
)
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db(databases="__all__")


def test_result_is_plain_data_with_the_profiler_session(books):
    result = profile_request("/books/", repeat=2)
    assert result.status == 200 and not result.failed
    assert result.query_count == 13
    assert len(result.runs) == 2 and result.wall.count == 2
    assert result.files == {}  # no output_dir, no files
    assert result.calltree is not None
    frames = result.calltree.root_frame()  # a real pyinstrument Session
    # The tree starts at Django's handler (the harness's frames are not in it).
    assert frames is not None and frames.function == "get_response"
    assert "django/core/handlers/base.py" in (frames.file_path or "")
    json.dumps(result.to_dict())  # serialisable as it is
    assert result.to_dict()["queries"][0]["sql"].startswith("SELECT")


def test_query_count_matches_django_capture(books, member):
    client = Client()
    client.force_login(member)
    with CaptureQueriesContext(connection) as captured:
        client.get("/books/", HTTP_HOST="shop.example.com")
    result = profile_request("/books/", user=member.email)
    assert result.query_count == len(captured)


def test_mapping_data_and_json_objects(db):
    result = profile_request("/echo/", data={"tag": ["a", "b"], "q": "x"})
    assert json.loads(result.response.body_preview)["GET"] == {"tag": ["a", "b"], "q": ["x"]}
    result = profile_request("/echo/", method="post", json={"k": [1, 2]})
    assert json.loads(json.loads(result.response.body_preview)["body"]) == {"k": [1, 2]}


def test_errors_are_library_exceptions(db):
    with pytest.raises(PathNotFound) as info:
        profile_request("/book/")
    assert info.value.suggestions[0] == "/books/"
    with pytest.raises(UserNotFound):
        profile_request("/books/", user=999)


def test_inactive_user_is_warned_about(member):
    member.is_active = False
    member.save()
    result = profile_request("/private/", user=member.pk)
    assert result.status == 302
    assert any("inactive" in warning for warning in result.warnings)


def test_profile_call_counts_queries_and_commits_nothing(books):
    before = Book.objects.count()
    result = profile_call(
        "tests.testapp.lines.create_book", args=["Called book"], repeat=2, profiler="none"
    )
    assert not result.failed and result.errors == []
    assert result.response.reason == "returned int"
    # get_or_create's SELECT and INSERT of the author, then the book's INSERT, in every run.
    assert [run.queries for run in result.runs] == [3, 3]
    assert result.query_count == 3
    assert Book.objects.count() == before
    assert not Author.objects.filter(name="Called").exists()
    assert result.spec.title == "call tests.testapp.lines.create_book"
    assert result.files == {}  # no output_dir, no files


def test_profile_call_with_keyword_arguments_an_input_factory_and_files(books, tmp_path):
    result = profile_call("tests.testapp.lines.async_titles", kwargs={"limit": 3})
    assert result.response.reason == "returned list with 3 items"
    assert result.query_count == 1 and result.calltree is not None
    result = profile_call(
        "tests.testapp.lines.arithmetic",
        input="tests.testapp.lines.book_count",
        kwargs={"scale": 2},
        output_dir=tmp_path,
    )
    assert result.response.reason == "returned int"
    assert result.query_count == 0  # the factory's COUNT is not the call's
    assert {"html", "json"} <= result.files.keys()
    assert json.loads(result.files["json"].read_text())["driver"] == "call"


def test_profile_call_errors_are_library_exceptions(db):
    with pytest.raises(ProfileCmdsError, match="has no attribute or submodule 'nope'"):
        profile_call("tests.testapp.lines.nope")
    with pytest.raises(InvalidOption, match="--repeat must be at least 1"):
        profile_call("tests.testapp.lines.arithmetic", args=[3], repeat=0)
    result = profile_call("tests.testapp.lines.explode", profiler="none")
    assert result.failed and "RuntimeError: called function exploded" in result.errors[0]


def test_the_public_api():
    assert django_profilecmds.__all__ == ["analyse_traffic", "profile_call", "profile_request"]


@pytest.mark.parametrize("function", [profile_request, profile_call])
def test_a_misspelt_option_is_an_error_not_ignored(function):
    target = "/books/" if function is profile_request else "tests.testapp.lines.book_count"
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'repat'"):
        function(target, repat=5)


def test_analyse_traffic_returns_plain_data_and_refuses_a_misspelt_option(db, tmp_path):
    log = tmp_path / "access.log"
    line = (
        '203.0.113.7 - - [20/Nov/2026:08:{:02d}:00 +0000] "GET /books/ HTTP/1.1" 200 512 '
        '"-" "curl/8" 0.{:03d}\n'
    )
    log.write_text("".join(line.format(minute, 20 + minute % 7) for minute in range(30)))
    analysis = django_profilecmds.analyse_traffic([log])
    data = json.loads(json.dumps(analysis.to_dict()))
    assert data["requests"] == 30 and data["views"] == 1 and data["windows"] == 30
    assert data["sources"] == {"access.log": "nginx"}
    with pytest.raises(TypeError, match="unexpected keyword argument 'windw'"):
        django_profilecmds.analyse_traffic([log], windw="5m")
