"""profile_request(): the function users call from their own tests."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_profilecmds import profile_request
from django_profilecmds.exceptions import PathNotFound, UserNotFound

pytestmark = pytest.mark.django_db(databases="__all__")


def test_result_is_plain_data_with_the_profiler_session(books):
    result = profile_request("/books/", repeat=2)
    assert result.status == 200 and not result.failed
    assert result.query_count == 13
    assert len(result.runs) == 2 and result.wall.count == 2
    assert result.files == {}  # no output_dir, no files
    assert result.calltree is not None
    frames = result.calltree.root_frame()  # a real pyinstrument Session
    assert frames is not None and "_get_response" in frames.function
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
