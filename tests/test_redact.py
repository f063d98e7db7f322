"""Secrets planted in a request never reach a file written for it."""

from __future__ import annotations

import pytest

from django_profilecmds import profile_request
from django_profilecmds.reports.redact import MASK, Redactor

PLANTED = ["Bearer planted-auth-token", "planted-password-value", "planted-api-key-value"]


def test_redactor_masks_sensitive_names_and_known_values():
    redactor = Redactor(["sessionkey123"])
    assert redactor.pairs([("password", "x"), ("title", "ok"), ("API_KEY", "k")]) == [
        ("password", MASK),
        ("title", "ok"),
        ("API_KEY", MASK),
    ]
    assert redactor.data({"nested": {"secret_token": "s", "n": 1}, "v": "a sessionkey123 b"}) == {
        "nested": {"secret_token": MASK, "n": 1},
        "v": f"a {MASK} b",
    }
    form = '<input type="hidden" name="csrfmiddlewaretoken" value="abcDEF123">'
    assert "abcDEF123" not in redactor.text(form)


@pytest.mark.django_db(databases="__all__")
def test_planted_secrets_appear_in_no_file(member, tmp_path):
    result = profile_request(
        "/echo/",
        method="POST",
        user=member.email,
        data={"title": "fine", "password": PLANTED[1]},
        headers={"Authorization": PLANTED[0], "X-Api-Key": PLANTED[2]},
        output_dir=tmp_path,
        profiler="cprofile",
    )
    assert result.status == 200
    session_key = result.secrets[0]
    written = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    for secret in [*PLANTED, session_key]:
        assert secret.encode() not in written
    assert b"fine" in written  # ordinary data is kept


@pytest.mark.django_db(databases="__all__")
def test_query_string_cookie_and_password_hash_secrets(member, tmp_path):
    result = profile_request(
        "/set-password/?token=planted-query-token&page=2",
        user=member.email,
        headers={"Cookie": "sessionid=planted-cookie-session"},
        output_dir=tmp_path,
    )
    assert result.status == 200
    files = list(tmp_path.iterdir())
    assert all("planted" not in path.name for path in files)
    written = b"".join(path.read_bytes() for path in files)
    for secret in (b"planted-query-token", b"planted-cookie-session", b"pbkdf2_sha256$"):
        assert secret not in written
    assert b"page" in written


def test_configured_names_are_masked_and_authors_are_not(settings):
    settings.PROFILECMDS = {"REDACT_NAMES": ["^iban$"]}
    redactor = Redactor()
    assert redactor.pairs([("iban", "DE00"), ("authors", "Ada"), ("auth_token", "t")]) == [
        ("iban", MASK),
        ("authors", "Ada"),
        ("auth_token", MASK),
    ]
