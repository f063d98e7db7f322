"""Secrets planted where an attacker (or an honest bug) puts them never reach a file written or
a line printed: each test plants values and searches every output for them."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.testapp import leaks
from tests.testapp.models import Member

pytestmark = pytest.mark.django_db(databases="__all__")


def run(command: str, *args: str, out_dir: Path, **options: object) -> str:
    """Run a command; everything it printed (stdout, stderr, its error)."""
    stdout, stderr = StringIO(), StringIO()
    error = ""
    try:
        call_command(
            command, *args, output_dir=str(out_dir), stdout=stdout, stderr=stderr, **options
        )
    except CommandError as exc:
        error = f"CommandError: {exc}"
    return stdout.getvalue() + stderr.getvalue() + error


def written(directory: Path) -> str:
    """The names and contents of every file under ``directory``."""
    parts = []
    for path in sorted(directory.rglob("*")):
        parts.append(path.name)
        if path.is_file():
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def assert_nowhere(secrets: list[str], *outputs: str) -> None:
    for secret in secrets:
        for output in outputs:
            assert secret not in output


def test_parameters_of_password_lookups_and_their_plans(tmp_path):
    """Case 1: LIKE and iexact lookups on a password column, in the SQL file and EXPLAIN."""
    printed = run(
        "profile_view",
        "/leaks/lookups/",
        out_dir=tmp_path,
        sql="full",
        explain=True,
        explain_top=10,
        profiler="cprofile",
    )
    files = written(tmp_path)
    assert "EXPLAIN" in printed and '"password"' in files  # the queries are reported
    planted = [leaks.CONTAINS, leaks.IEXACT, leaks.IEXACT.upper(), leaks.IEXACT.lower()]
    assert_nowhere(planted, printed, files)


def test_bulk_update_of_a_credential(tmp_path):
    """Case 2: bulk_update() sets the column through CASE WHEN ... THEN %s."""
    printed = run("profile_view", "/leaks/bulk/", out_dir=tmp_path, sql="full", profiler="cprofile")
    files = written(tmp_path)
    assert "CASE WHEN" in files
    assert_nowhere(list(leaks.BULK), printed, files)
    assert not Member.objects.filter(email__startswith="bulk").exists()


def test_bulk_create_of_credentials(tmp_path):
    """Case 19: bulk_create() on PostgreSQL passes an array per column (INSERT ... SELECT *
    FROM UNNEST), so a credential is an item of a list parameter; the page shows it again."""
    from django.db import connection

    printed = run(
        "profile_view", "/leaks/bulk-create/", out_dir=tmp_path, sql="full", profiler="cprofile"
    )
    files = written(tmp_path)
    assert "200 OK" in printed and "issued" in files
    if connection.vendor == "postgresql":
        assert "SELECT * FROM UNNEST((%s)::varchar[], " in files
        assert '("username") DO UPDATE SET "api_token" = EXCLUDED."api_token"' in files
    else:
        assert ") VALUES (%s, %s, " in files
    planted = [*leaks.BULK_CREATED, *(f"{value}-token" for value in leaks.BULK_CREATED)]
    assert_nowhere(planted, printed, files)
    assert "bulk-created0@example.com" in files  # the rest of the arrays stays readable


def test_query_string_in_the_heading_and_files(tmp_path):
    """Case 3 and 4: query-string values, short ones too, in the terminal and every file."""
    printed = run(
        "profile_view",
        "/echo/?token=PLANTEDTOKEN1&password=abc12&page=2",
        out_dir=tmp_path,
        profiler="cprofile",
    )
    files = written(tmp_path)
    assert "page=2" in printed and "page" in files
    assert_nowhere(["PLANTEDTOKEN1", "abc12"], printed, files)


def test_short_form_values_echoed_in_the_body(tmp_path):
    """Case 4: a three-character password sent as a form field and echoed back."""
    printed = run(
        "profile_view",
        "/echo/",
        out_dir=tmp_path,
        method="POST",
        data=["password2=pw5", "title=visible"],
        profiler="cprofile",
        verbosity=2,
    )
    files = written(tmp_path)
    assert "visible" in files
    assert_nowhere(["pw5"], printed, files)


# Pages whose answer (body, headers, error) carries secrets: (URL, options, a value that shows
# the page was reported, the planted values).
PAGES = {
    "exception message (case 5)": (
        "/leaks/fail/",
        {},
        "ValueError",
        ["planted-exc-pass", leaks.LIVE_KEY],
    ),
    "X-Debug-Auth header, token in Location (case 8)": (
        "/leaks/redirect/",
        {},
        "step=2",
        [leaks.LOCATION_TOKEN, leaks.DEBUG_AUTH],
    ),
    "a reset link's <token> in the path": (
        "/leaks/reset/MQ/planted-reset-token5/",
        {},
        "reset link for MQ",
        ["planted-reset-token5"],
    ),
    "PostgreSQL's Key (api_token)=(...) detail": (
        "/leaks/integrity/",
        {},
        "already exists",
        ["planted-detail-token"],
    ),
    "structures under a sensitive JSON key": (
        "/leaks/nested/",
        {},
        "visible-name",
        ["planted-cred-value", "planted-nested-list", "planted-token-dict"],
    ),
    "a token where the body preview is cut": ("/leaks/truncated/", {}, "filler", ["planted-tr"]),
    "form fields: double and single quotes, value first, textarea": (
        "/leaks/form/",
        {},
        "visible-city",
        ["planted-form-token", "planted-textarea-key", "planted-single-quoted"]
        + ["planted-value-first"],
    ),
    "raw writes by REPLACE INTO and WITH ... UPDATE": (
        "/leaks/raw-writes/",
        {"sql": "full"},
        "visible-user",
        ["planted-replace-1", "planted-replace-2", "planted-with-3"],
    ),
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_a_page_that_leaks(page, tmp_path):
    url, options, visible, secrets = PAGES[page]
    printed = run("profile_view", url, out_dir=tmp_path, profiler="cprofile", **options)
    files = written(tmp_path)
    assert visible in files
    assert_nowhere(secrets, printed, files)


def test_control_characters_from_the_profiled_code_are_escaped_in_the_terminal(tmp_path):
    """Case 18: escape sequences in an exception's message cannot retitle the terminal, clear
    it or write to its clipboard; the colours of our own output are kept."""
    stdout, stderr = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command(
            "profile_view",
            "/leaks/escapes/",
            output_dir=str(tmp_path),
            profiler="cprofile",
            force_color=True,
            stdout=stdout,
            stderr=stderr,
        )
    printed = stdout.getvalue() + stderr.getvalue()
    assert "bad row: \\x1b]0;pwned\\x07\\x1b[2J" in printed and "\\u202edone" in printed
    for raw in ("\x1b]", "\x1b[2J", "\x07", "\u202e"):
        assert raw not in printed
    assert "\x1b[" in stdout.getvalue()  # our colours


def test_exception_message_of_a_call(tmp_path):
    """Case 5: profile_call --kwargs with a password, echoed by the exception."""
    printed = run(
        "profile_call",
        "tests.testapp.leaks.login",
        out_dir=tmp_path,
        call_kwargs='{"password": "planted-kwarg-pass"}',
        profiler="cprofile",
    )
    files = written(tmp_path)
    assert "login failed" in printed
    assert_nowhere(["planted-kwarg-pass", leaks.LIVE_KEY], printed, files)


def test_command_arguments(tmp_path):
    """Case 6: --api-key=VALUE and --password VALUE, in file names, index, JSON, terminal."""
    printed = run(
        "profile_command",
        "secretcmd",
        "--api-key=PLANTED-key-77",
        "--password",
        "PL8",
        out_dir=tmp_path,
        profiler="cprofile",
    )
    files = written(tmp_path)
    assert "connected with" in printed and "secretcmd" in files
    assert_nowhere(["PLANTED-key-77", "planted-key-77", "PL8", "pl8"], printed, files)


@pytest.fixture
def secret_settings(settings):
    settings.SECRET_KEY = "planted-secret-key-0123456789"
    settings.SMTP_RELAY_PASSWORD = "mailpw"
    settings.PAYMENT = {"API_SECRET": "planted-payment-secret", "CURRENCY": "EUR"}
    settings.REDIS_PASSWORD = "rpw12"
    return ["planted-secret-key-0123456789", "mailpw", "planted-payment-secret", "rpw12"]


def test_settings_printed_by_diffsettings(tmp_path, secret_settings):
    """Case 7: what SafeExceptionReporterFilter hides, printed by a command."""
    printed = run("profile_command", "diffsettings", out_dir=tmp_path, profiler="cprofile")
    files = written(tmp_path)
    assert "SMTP_RELAY_PASSWORD" in printed and "CURRENCY" in files
    assert_nowhere(secret_settings, printed, files)


def test_settings_rendered_by_a_view(tmp_path, secret_settings):
    """Case 7: a page that shows settings."""
    printed = run("profile_view", "/leaks/settings/", out_dir=tmp_path, profiler="cprofile")
    files = written(tmp_path)
    assert "REDIS_PASSWORD" in files
    assert_nowhere(secret_settings, printed, files)


def test_names_outside_the_django_pattern(tmp_path):
    """Case 8: pwd, jwt, otp, code and auth fields, an X-Auth request header."""
    fields = {"pwd": "pl-pwd-1", "jwt": "pl-jwt-2", "otp": "pl-otp-3", "code": "pl-code-4"}
    fields["auth"] = "pl-auth-5"
    printed = run(
        "profile_view",
        "/leaks/headers/",
        out_dir=tmp_path,
        method="POST",
        data=[f"{k}={v}" for k, v in fields.items()] + ["author=Ada Lovelace"],
        header=["X-Auth: pl-xauth-6"],
        profiler="cprofile",
    )
    files = written(tmp_path)
    assert "Ada Lovelace" in files  # "author" is not "auth"
    assert_nowhere([*fields.values(), "pl-xauth-6"], printed, files)


def test_skipped_har_entry_headers(tmp_path):
    """Case 9: a HAR entry that is skipped keeps its Authorization header to itself."""
    har = {
        "log": {
            "version": "1.2",
            "entries": [
                {
                    "request": {
                        "url": "http://testserver/books/",
                        "headers": [{"name": "Authorization", "value": "Bearer PLANTED-har-token"}],
                    }
                },
                {"request": {"method": "GET", "url": "http://testserver/books/", "headers": []}},
            ],
        }
    }
    source = tmp_path / "traffic.har"
    source.write_text(json.dumps(har))
    save = tmp_path / "saved" / "before.json"
    save.parent.mkdir()
    printed = run("profile_replay", str(source), out_dir=tmp_path / "out", save=str(save))
    files = written(tmp_path / "out") + save.read_text()
    assert "without a method" in printed
    assert_nowhere(["PLANTED-har-token"], printed, files)


def test_skipped_json_lines_are_masked(tmp_path):
    """Case 9: a JSON line that is skipped, with a token in it."""
    source = tmp_path / "traffic.jsonl"
    source.write_text(
        '{"method": "GET", "path": "/books/"}\n'
        '{"method": "GET", "headers": {"X-Api-Key": "PLANTED-jsonl-key"}, "password": "PLX"}\n'
    )
    printed = run("profile_replay", str(source), out_dir=tmp_path / "out")
    files = written(tmp_path / "out")
    assert "line 2" in printed or "2:" in printed
    assert_nowhere(["PLANTED-jsonl-key", "PLX"], printed, files)


def test_password_hash_in_a_commands_json_output(tmp_path):
    """Case 14: a hash inside JSON text (dumpdata) no longer breaks redaction."""
    member = Member.objects.create_user("hash@example.com", "planted-hash-source")
    printed = run(
        "profile_command", "dumpdata", "testapp.member", out_dir=tmp_path, profiler="cprofile"
    )
    files = written(tmp_path)
    assert "hash@example.com" in printed and "hash@example.com" in files
    assert_nowhere([member.password, member.password.split("$")[-1]], printed, files)
    report = json.loads(next(tmp_path.glob("command-dumpdata-*.json")).read_text())
    assert "hash@example.com" in report["output"]["stdout"]


def test_password_hash_inside_a_json_body(tmp_path):
    """Case 14: a hash inside a JSON request body."""
    body = json.dumps({"note": "pbkdf2_sha256$600000$plantedsalt$plantedhash=", "n": 1})
    printed = run(
        "profile_view", "/echo/", out_dir=tmp_path, method="POST", json=body, profiler="cprofile"
    )
    files = written(tmp_path)
    assert "CommandError" not in printed and "note" in files
    assert_nowhere(["plantedsalt", "plantedhash"], printed, files)


# Found by trying to leak on purpose: each case plants values and searches every output.


def test_a_sent_password_echoed_html_escaped(tmp_path):
    password = "pl'ant&ed-30<x>\"q"
    printed = run(
        "profile_view",
        "/leaks/echo-html/",
        out_dir=tmp_path,
        method="POST",
        data=[f"password={password}"],
        profiler="cprofile",
    )
    files = written(tmp_path)
    assert "You said" in files
    from html import escape

    assert_nowhere([password, escape(password), escape(escape(password))], printed, files)


def test_percent_encoded_names_and_nested_encoded_pairs(tmp_path):
    printed = run(
        "profile_view",
        "/echo/?p%61ssword=PLANT%45D-142-enc&next=%2Fx%3Fapi_key%3DPLANTED-144-nest%26page%3D2",
        out_dir=tmp_path,
        profiler="cprofile",
    )
    files = written(tmp_path)
    assert "page%3D2" in printed
    assert_nowhere(["PLANT%45D-142-enc", "PLANTED-142", "PLANTED-144-nest"], printed, files)


def test_a_route_token_in_every_file_and_the_saved_samples(tmp_path):
    save = tmp_path / "before.json"
    printed = run(
        "profile_view",
        "/leaks/reset/MQ/planted-route-token7/",
        out_dir=tmp_path / "out",
        speedscope=True,
        save=str(save),
        repeat=2,
    )
    files = written(tmp_path)
    assert ".pyinstrument.html" in files and ".speedscope.json" in files
    assert_nowhere(["planted-route-token7"], printed, files)


def test_a_route_token_in_a_replay_and_its_exports(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(
        '1.2.3.4 - - [01/Dec/2026:10:00:00 +0000] "GET /leaks/reset/MQ/planted-log-token8/ '
        'HTTP/1.1" 200 6 "-" "-"\n'
    )
    save, locust = tmp_path / "saved.json", tmp_path / "locustfile.py"
    printed = run("profile_replay", str(log), out_dir=tmp_path / "out", save=str(save))
    printed += run("profile_replay", str(log), out_dir=tmp_path / "out", export_locust=str(locust))
    files = written(tmp_path / "out") + save.read_text() + locust.read_text()
    assert "reset" in printed and "/leaks/reset/MQ/" in files
    assert_nowhere(["planted-log-token8"], printed, files)


def test_a_multipart_password_in_an_exported_har_body(tmp_path):
    body = (
        '--b\r\nContent-Disposition: form-data; name="password"\r\n\r\nplanted-multipart-pw\r\n'
        '--b\r\nContent-Disposition: form-data; name="title"\r\n\r\nvisible-title\r\n--b--\r\n'
    )
    har = {
        "log": {
            "version": "1.2",
            "entries": [
                {
                    "request": {
                        "method": "POST",
                        "url": "http://testserver/echo/",
                        "headers": [],
                        "postData": {"mimeType": "multipart/form-data; boundary=b", "text": body},
                    }
                }
            ],
        }
    }
    source = tmp_path / "traffic.har"
    source.write_text(json.dumps(har))
    locust = tmp_path / "locustfile.py"
    printed = run(
        "profile_replay",
        str(source),
        out_dir=tmp_path / "out",
        export_locust=str(locust),
        include_unsafe=True,
    )
    assert "visible-title" in locust.read_text()
    assert_nowhere(["planted-multipart-pw"], printed, written(tmp_path / "out"), locust.read_text())


def test_command_options_as_the_commands_parser_reads_them(tmp_path):
    printed = run(
        "profile_command",
        "secretcmd",
        "-p",
        "planted-short-opt",
        "--tok",
        "planted-abbrev",
        "--auth",
        "planted-auth-a",
        "planted-auth-b",
        out_dir=tmp_path,
        profiler="cprofile",
    )
    printed += run(
        "profile_command",
        "secretcmd",
        "-pplanted-glued-opt",
        out_dir=tmp_path,
        profiler="cprofile",
    )
    files = written(tmp_path)
    assert "connected with" in printed and "secretcmd" in files
    secrets = ["planted-short-opt", "planted-abbrev", "planted-auth-a", "planted-auth-b"]
    assert_nowhere([*secrets, "planted-glued-opt", "glued"], printed, files)


def test_a_password_passed_by_position(tmp_path):
    printed = run(
        "profile_call",
        "tests.testapp.leaks.login_positional",
        out_dir=tmp_path,
        call_args='["bob", "planted-positional-pw"]',
        profiler="cprofile",
    )
    files = written(tmp_path)
    assert "wrong credentials" in printed and "bob" in files
    assert_nowhere(["planted-positional-pw"], printed, files)


def test_a_long_message_is_masked_before_it_is_cut(tmp_path):
    printed = run(
        "profile_call",
        "tests.testapp.leaks.login",
        out_dir=tmp_path,
        input="tests.testapp.leaks.failing_input",
    )
    assert "RuntimeError" in printed
    assert_nowhere(["planted-long", "planted-long-cut"], printed, written(tmp_path))


def test_credentials_in_source_lines(tmp_path):
    printed = run("lineprof", "tests.testapp.leaks.keyed", out_dir=tmp_path, call="")
    files = written(tmp_path)
    assert "api_key: str =" in printed and "api_key: str =" in files
    secrets = [f"planted-{kind}" for kind in ("annotated-1", "fstring", "triple-3")]
    secrets += ["planted-url-4", "planted/url-5", "planted-bytes-6"]
    assert_nowhere(secrets, printed, files)


def test_what_the_profiled_code_prints_and_logs(tmp_path, capsys):
    import logging
    import sys

    logger = logging.getLogger("tests.leaks")
    handler = logging.StreamHandler(sys.stderr)
    logger.addHandler(handler)
    try:
        printed = run("profile_view", "/leaks/logs/", out_dir=tmp_path, profiler="cprofile")
    finally:
        logger.removeHandler(handler)
    captured = capsys.readouterr()
    shown = printed + captured.out + captured.err
    assert "connecting with password=" in shown and "api_key=" in shown
    assert_nowhere(["planted-print-pass", "planted-stderr-token", "planted-log-key"], shown)


@pytest.mark.parametrize("case", sorted(leaks.SQL_CASES))
def test_values_bound_to_credential_columns(case, tmp_path):
    """Case 19: SQL values that belong to a credential column by their place in the statement
    (a named parameter, an INSERT's position, the far side of a comparison), in the SQL file,
    the JSON, EXPLAIN and the terminal."""
    printed = run(
        "profile_view",
        f"/leaks/sql/{case}/",
        out_dir=tmp_path,
        sql="full",
        explain=True,
        explain_top=50,
        profiler="cprofile",
    )
    files = written(tmp_path)
    assert "200 OK" in printed and "testapp_account" in files  # the view ran, its SQL is shown
    assert_nowhere(list(leaks.SQL_CASES[case][1]), printed, files)


# A second attack, on the fixes of the first.


def test_what_the_code_prints_while_it_runs_knows_the_runs_secrets(tmp_path, capsys):
    import logging
    import sys

    logger = logging.getLogger("tests.leaks")
    handler = logging.StreamHandler(sys.stderr)
    logger.addHandler(handler)
    try:
        printed = run(
            "profile_view",
            "/leaks/print-sent/",
            out_dir=tmp_path,
            method="POST",
            data=["password=planted-sent-77"],
            profiler="none",
        )
    finally:
        logger.removeHandler(handler)
    captured = capsys.readouterr()
    shown = printed + captured.out + captured.err
    assert "got " in shown and "the value" in shown and "login with password" in shown
    assert_nowhere(["planted-sent-77", "planted-split-print", "planted-split-write"], shown)


def test_names_built_from_data_in_the_call_tree(tmp_path):
    printed = run(
        "profile_view",
        "/leaks/named/",
        out_dir=tmp_path,
        method="POST",
        data=["api_token=plantedtok91"],
        speedscope=True,
        interval=0.001,
    )
    printed += run(
        "profile_view",
        "/leaks/named/",
        out_dir=tmp_path,
        method="POST",
        data=["api_token=plantedtok91"],
        profiler="cprofile",
    )
    files = written(tmp_path)
    assert ".speedscope.json" in files and "named_from_data" in files
    assert_nowhere(["plantedtok91"], printed, files)


def test_a_sent_value_echoed_in_another_case_or_cut_by_the_preview(tmp_path):
    long_value = "planted-long-" + "q" * 10_240
    printed = run(
        "profile_view",
        "/leaks/echo-changed/?mode=long",
        out_dir=tmp_path,
        method="POST",
        data=[f"password={long_value}"],
        profiler="cprofile",
    )
    for mode in ("upper", "raise"):
        printed += run(
            "profile_view",
            f"/leaks/echo-changed/?mode={mode}",
            out_dir=tmp_path,
            method="POST",
            data=["password=Planted-Case-55"],
            profiler="cprofile",
        )
    files = written(tmp_path)
    assert "you_said" in files and "ValueError" in printed
    assert_nowhere(["planted-long-qqqq", "PLANTED-CASE-55", "planted-case-55"], printed, files)


def test_a_pair_after_another_word_and_colon():
    from django_profilecmds.reports.redact import Redactor

    redactor = Redactor()
    for text in (
        'ERROR: api_key = "planted-after-1"',
        "note: password = 'planted-after-2'",
        'at 12:30 password="planted-after-3"',
        "got 'api_key:planted-after-4'",
    ):
        assert "planted-after" not in redactor.text(text), text


def test_save_and_export_never_replace_a_file_they_did_not_write(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(
        '1.2.3.4 - - [01/Dec/2026:10:00:00 +0000] "GET /books/ HTTP/1.1" 200 6 "-" "-"\n'
    )
    for option, command, args in (
        ("save", "profile_view", ["/books/"]),
        ("export_locust", "profile_replay", [str(log)]),
    ):
        precious = tmp_path / f"precious-{option}.py"
        precious.write_text("SECRET_KEY = 'mine'\n")
        printed = run(command, *args, out_dir=tmp_path / "out", **{option: str(precious)})
        assert "Refusing to replace" in printed and "Remove it or choose another name" in printed
        assert precious.read_text() == "SECRET_KEY = 'mine'\n"
        # A file the option wrote before is replaced, as a second --save must be.
        fresh = tmp_path / f"fresh-{option}.out"
        run(command, *args, out_dir=tmp_path / "out", **{option: str(fresh)})
        first = fresh.read_text()
        assert "CommandError" not in run(
            command, *args, out_dir=tmp_path / "out", **{option: str(fresh)}
        )
        assert fresh.read_text() and first
