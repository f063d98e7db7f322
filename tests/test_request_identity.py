"""Who a request turned out to be, read from what Django's AuthenticationMiddleware or DRF set
on it, and the note for a --user run that a token-authenticated API refused; through real DRF
views (rest_framework.authtoken's tokens), every driver, the JSON and index.html."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db(databases="__all__")

# Planted: it must be found in no line printed and no file written.
KEY = "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f61"


@pytest.fixture
def token(member):
    return Token.objects.create(user=member, key=KEY)


def profile_view(*args, **options):
    out, err = StringIO(), StringIO()
    error = ""
    try:
        call_command("profile_view", *args, stdout=out, stderr=err, **options)
    except CommandError as exc:
        error = str(exc)
    return out.getvalue(), err.getvalue() + error


def written(directory: Path) -> str:
    return "\n".join(
        path.name + "\n" + (path.read_text(errors="replace") if path.is_file() else "")
        for path in sorted(directory.rglob("*"))
    )


def saved(directory: Path) -> dict[str, Any]:
    (path,) = [p for p in directory.glob("*.json") if not p.name.endswith(".speedscope.json")]
    return json.loads(path.read_text())


def test_a_token_in_the_authorization_header_is_who_the_request_was(token, member, tmp_path):
    out, err = profile_view(
        "/api/me/", header=[f"Authorization: Token {KEY}"], output_dir=tmp_path, profiler="none"
    )
    who = f"as {member.email} (pk={member.pk}) · by Authorization header"
    assert f"  {who} · full stack" in out
    assert "200 OK" in out
    document = saved(tmp_path)
    assert document["identity"]["label"] == who
    assert document["user"] is None  # no --user was given
    assert f'<td data-value="{who}">{who}</td>' in (tmp_path / "index.html").read_text()
    assert KEY not in out + err + written(tmp_path)


def test_a_session_the_api_does_not_accept_is_explained(member, tmp_path):
    out, err = profile_view("/api/me/", user=member.email, output_dir=tmp_path, profiler="none")
    assert "401 Unauthorized" in out
    assert f"  anonymous, although the session of {member.email} (pk={member.pk}) was sent" in out
    note = next(line for line in out.splitlines() if "did not accept the session" in line)
    assert "TokenAuthentication" in note
    assert "--header 'Authorization: Token <key>'" in note
    assert saved(tmp_path)["warnings"] == [note.strip()]
    assert "anonymous, although the session" in (tmp_path / "index.html").read_text()


def test_a_bearer_api_answering_403_names_its_scheme(member, tmp_path):
    """No WWW-Authenticate header here: the view's authentication class gives the scheme."""
    out, _ = profile_view("/api/profile/", user=member.email, no_files=True, profiler="none")
    assert "403 Forbidden" in out
    assert "--header 'Authorization: Bearer <key>'" in out


def test_a_session_the_api_accepts_is_labelled_session(books, member):
    out, _ = profile_view("/api/books/", user=member.email, no_files=True, profiler="none")
    assert f"  as {member.email} (pk={member.pk}) · session · full stack" in out
    assert "did not accept" not in out
    out, _ = profile_view("/private/", user=member.email, no_files=True, profiler="none")
    assert f"  as {member.email} (pk={member.pk}) · session · full stack" in out


def test_a_view_that_never_reads_the_user_runs_no_query_for_it(books, member):
    out, _ = profile_view("/books/", user=member.email, no_files=True, profiler="none")
    assert f"as {member.email} (pk={member.pk}) · session" in out
    assert "13 queries" in out  # the books and their authors: no session or user row


def test_a_rejected_header_leaves_the_request_anonymous(db, tmp_path):
    out, err = profile_view(
        "/api/me/", header=[f"Authorization: Token {KEY}"], output_dir=tmp_path, profiler="none"
    )
    assert "401 Unauthorized" in out
    assert "  anonymous, although an Authorization header was sent · full stack" in out
    assert KEY not in out + err + written(tmp_path)


@pytest.mark.parametrize("driver", [{"asgi": True}, {"direct": True}])
def test_every_request_driver_reads_the_identity(token, member, driver):
    out, _ = profile_view(
        "/api/me/", header=[f"Authorization: Token {KEY}"], no_files=True, **driver
    )
    assert f"as {member.email} (pk={member.pk}) · by Authorization header" in out


def test_the_direct_driver_says_it_attached_the_user(member):
    out, _ = profile_view("/private/", user=member.email, direct=True, no_files=True)
    assert f"as {member.email} (pk={member.pk}) · attached by --direct" in out
    out, _ = profile_view("/api/me/", user=member.email, direct=True, no_files=True)
    assert f"anonymous, although --direct attached {member.email} (pk={member.pk})" in out
    assert "did not accept that user" in out
