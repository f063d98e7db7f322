"""Secrets planted in a request never reach a file written for it."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command

from django_profilecmds import profile_request
from django_profilecmds.reports.redact import MASK, Redactor
from tests.testapp.models import Member

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


def test_an_authorization_placeholder_is_advice_not_a_secret():
    redactor = Redactor()
    advice = "--header 'Authorization: Token <key>' or 'Authorization: Bearer <key>'"
    assert redactor.text(advice) == advice
    assert redactor.text("Authorization: Token 0123abcd") == f"Authorization: {MASK}"
    assert redactor.text("Authorization: Token <key>x") == f"Authorization: {MASK} <key>x"


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


@pytest.mark.django_db(databases="__all__")
def test_parameters_bound_to_sensitive_columns_appear_in_no_file(tmp_path):
    out = StringIO()
    call_command(
        "profile_call",
        "tests.testapp.views.rotate_credentials",
        output_dir=tmp_path,
        profiler="cprofile",
        explain=True,
        explain_top=10,
        sql="full",
        stdout=out,
        stderr=StringIO(),
    )
    assert not Member.objects.filter(email="rotated@example.com").exists()  # rolled back
    written = out.getvalue().encode() + b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for secret in ("plain-secret-insert", "plain-secret-update", "plain-secret-where"):
        assert secret.encode() not in written
    queries = json.loads(next(tmp_path.glob("call-*.json")).read_text())["queries"]
    insert = next(q for q in queries if q["sql"].startswith('INSERT INTO "django_session"'))
    assert insert["params"][0] == "*" * 20  # session_key
    # Ordinary values stay readable: the email and the name.
    assert b"rotated@example.com" in written and b"Rotated" in written


@pytest.mark.parametrize(
    ("sql", "positions"),
    [
        ('INSERT INTO "u" ("email", "password") VALUES (%s, %s), (%s, %s)', {1, 3}),
        ('UPDATE "u" SET "name" = %s, "password" = %s WHERE "u"."id" = %s', {1}),
        ('SELECT 1 FROM "u" WHERE "u"."api_key" IN (%s, %s) AND "u"."id" = %s', {0, 1}),
        ("SELECT 1 FROM `u` WHERE `u`.`secret_token` LIKE %s LIMIT %s", {0}),
        ('SELECT 1 FROM "u" WHERE "u"."author_id" = %s', set()),
        ('SELECT "u"."password" FROM "u" WHERE "u"."id" = %s', set()),
        # An UPDATE's values: what is assigned, not what a CASE WHEN tests.
        (
            'UPDATE "u" SET "password" = CASE WHEN ("u"."email" = %s) THEN %s WHEN ("u"."id" ='
            ' %s) THEN UPPER(%s) ELSE "u"."password" END WHERE "u"."email" IN (%s, %s)',
            {1, 3},
        ),
        ('UPDATE "u" SET "api_token" = %s WHERE "u"."id" = %s RETURNING "u"."api_token"', {0}),
        # Both bounds of a range, and IS [NOT] DISTINCT FROM (its FROM is no clause).
        ('SELECT 1 FROM "u" WHERE "u"."api_token" BETWEEN %s AND %s AND "u"."id" = %s', {0, 1}),
        ('SELECT 1 FROM "u" WHERE "u"."password" NOT BETWEEN %s AND %s', {0, 1}),
        ("SELECT 1 FROM u WHERE api_token IS NOT DISTINCT FROM %s AND id = %s", {0}),
        ("SELECT 1 FROM u WHERE otp_secret IS DISTINCT FROM %s", {0}),
        # A value before its column, or named as one.
        ("SELECT 1 FROM t WHERE %s = api_token AND %s = name", {0}),
        ('SELECT 1 FROM "t" WHERE "t"."id" = %s AND %s::text = UPPER("t"."password"::text)', {1}),
        ('SELECT %s AS "api_token", %s AS "n" FROM "t"', {0}),
        # A bracketed expression naming a sensitive column, whatever it names last.
        ('SELECT 1 FROM "t" WHERE ("t"."api_token", "t"."id") IN ((%s, %s)) AND "id" = %s', {0, 1}),
        ('SELECT 1 FROM "t" WHERE COALESCE("t"."password", "t"."name") = %s', {0}),
        # Arrays, and comments whose quotes start no literal.
        ("SELECT 1 FROM t WHERE api_token = ANY(ARRAY[%s, %s]) AND id = %s", {0, 1}),
        ("SELECT 1 FROM t /* ann's */ WHERE api_token = %s -- it's\n AND id = %s", {0}),
        # An INSERT's values by their place in each row, among literals and expressions.
        ("INSERT INTO a (name, password, api_token, note) VALUES ('e', 'x', %s, '')", {0}),
        ("INSERT INTO a (name, password) VALUES (%s, 'x'), ('y', %s), (UPPER(%s), %s)", {1, 3}),
        ('INSERT INTO "a" ("name", "password") SELECT %s, %s', {1}),
        (
            'INSERT INTO "t" ("name", "api_token") VALUES (%s, %s), (%s, %s) ON CONFLICT("name")'
            ' DO UPDATE SET "api_token" = EXCLUDED."api_token" RETURNING "t"."id"',
            {1, 3},
        ),
        # bulk_create() on PostgreSQL: an array of values per column.
        (
            'INSERT INTO "t" ("a", "b", "api_token") SELECT * FROM UNNEST((%s)::varchar[], '
            '(%s)::varchar[], (%s)::varchar[]) RETURNING "t"."id"',
            {2},
        ),
        # Named parameters: by their column, whatever their name.
        ("SELECT id FROM t WHERE api_token = %(t)s AND id = %(n)s", {"t"}),
        ('UPDATE "u" SET "password" = %(p)s WHERE "id" = %(id)s', {"p"}),
    ],
)
def test_parameters_are_matched_to_their_columns(sql, positions):
    """``positions`` are the secret parameters: their positions, or their ``%(names)s``."""
    names = re.findall(r"%\((\w+)\)s", sql)
    if names:
        named = {name: name for name in names}
        assert Redactor().params(sql, named) == {
            name: MASK if name in positions else name for name in names
        }
        assert Redactor().secret_params(sql, named) == sorted(positions)
        return
    assert Redactor().sensitive_params(sql) == positions
    params = list(range(sql.count("%s")))
    assert Redactor().params(sql, params) == [MASK if i in positions else i for i in params]


def test_array_parameters_are_masked_whole_and_their_items_are_secrets():
    """bulk_create() on PostgreSQL: one array parameter per column."""
    sql = 'INSERT INTO "t" ("a", "password") SELECT * FROM UNNEST((%s)::varchar[], (%s)::text[])'
    params = [["ann", "bob"], ["pw-one", "pw-two"]]
    assert Redactor().params(sql, params) == [["ann", "bob"], MASK]
    assert Redactor().secret_params(sql, params) == ["pw-one", "pw-two"]


@pytest.mark.parametrize(
    ("sql", "masked"),
    [
        (
            "SELECT 1 FROM u WHERE u.password = 'a' AND u.name = 'b'",
            "SELECT 1 FROM u WHERE u.password = '*' AND u.name = 'b'",
        ),
        (
            "INSERT INTO a (name,password,api_token) VALUES ('dave','x','it''s'), ('e', '', 'y')",
            "INSERT INTO a (name,password,api_token) VALUES ('dave','*','*'), ('e', '*', '*')",
        ),
        (
            "INSERT INTO a (name, password, api_token, n) SELECT 'fred', 'x', 'y', 0 FROM b",
            "INSERT INTO a (name, password, api_token, n) SELECT 'fred', '*', '*', 0 FROM b",
        ),
        (
            "SELECT 1 FROM u WHERE api_token BETWEEN 'a' AND 'b' AND name BETWEEN 'c' AND 'd'",
            "SELECT 1 FROM u WHERE api_token BETWEEN '*' AND '*' AND name BETWEEN 'c' AND 'd'",
        ),
        (
            "SELECT 1 FROM u WHERE 'a' = u.api_token OR 'b' <> u.name OR 'c' = 'd'",
            "SELECT 1 FROM u WHERE '*' = u.api_token OR 'b' <> u.name OR 'c' = 'd'",
        ),
        (
            "SELECT 1 FROM u WHERE api_token = E'a\\'b' AND name = e'c\\'d'",
            "SELECT 1 FROM u WHERE api_token = '*' AND name = e'c\\'d'",
        ),
        (
            "/* don't */ SELECT 1 FROM t WHERE api_token = 'a' AND name = 'b' -- it's",
            "/* don't */ SELECT 1 FROM t WHERE api_token = '*' AND name = 'b' -- it's",
        ),
    ],
)
def test_literals_are_matched_to_their_columns(sql, masked):
    """Each ``'*'`` of ``masked`` is a literal of ``sql`` that is masked."""
    assert Redactor().sql(sql) == masked.replace("'*'", f"'{MASK}'")


def test_literals_are_secrets_as_written_and_as_read():
    sql = "INSERT INTO t (name, password, api_token) VALUES ('ann', 'it''s-pw', E'tok\\'en')"
    assert Redactor().secret_literals(sql) == ["it''s-pw", "it's-pw", "tok\\'en", "tok'en"]


def readme_block(heading: str) -> str:
    """The first Python block of the README section under ``heading``."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_settings_extend_the_rules(settings):
    namespace: dict[str, object] = {}
    exec(readme_block("What never leaves the process"), namespace)
    settings.PROFILECMDS = namespace["PROFILECMDS"]
    redactor = Redactor()
    key = "ACME-" + "0123456789abcdef" * 2
    assert redactor.text(f"charged with {key} today") == f"charged with {MASK} today"
    assert redactor.pairs([("iban", "DE00"), ("customer_ref", "C-1"), ("city", "Oslo")]) == [
        ("iban", MASK),
        ("customer_ref", MASK),
        ("city", "Oslo"),
    ]
    from django.core.management import call_command

    call_command("check")  # the README's patterns are valid


def test_an_invalid_pattern_is_a_system_check_error(settings):
    from django_profilecmds.conf import check_settings

    settings.PROFILECMDS = {"REDACT_PATTERNS": ["(unclosed"], "REDACT_NAMES": [3]}
    errors = check_settings()
    assert [error.id for error in errors] == ["profilecmds.E005", "profilecmds.E005"]
    assert "(unclosed" in errors[1].msg or "(unclosed" in errors[0].msg
