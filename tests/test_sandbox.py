"""The sandbox holds: code written to escape it leaves nothing behind, through every command.

These tests run without pytest-django's wrapping transaction (``transaction=True``), so what
the profiled code commits is really committed and the row counts below are the database's own.
They run on SQLite and, in ``make test``'s PostgreSQL pass, on PostgreSQL.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given
from hypothesis import strategies as st

from tests.testapp.escapes import ESCAPES
from tests.testapp.models import Author

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def run(command: str, *args: str) -> tuple[int, str, str]:
    """Run a command as ``manage.py`` would: exit status, stdout, stderr."""
    out, err = StringIO(), StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
        status = 0
    except CommandError as exc:
        status = exc.returncode
        err.write(f"CommandError: {exc}\n")
    return status, out.getvalue(), err.getvalue()


def replay_log(tmp_path: Path, name: str, count: int) -> str:
    log = tmp_path / "access.log"
    request = f"GET /escape/{name}/ HTTP/1.1"
    line = f'127.0.0.1 - - [20/Nov/2026:10:00:00 +0000] "{request}" 200 2 "-" "-"'
    log.write_text("\n".join([line] * count) + "\n")
    return str(log)


COMMANDS = {
    "profile_view": lambda name, tmp: ("profile_view", f"/escape/{name}/", "--no-files"),
    "lineprof": lambda name, tmp: (
        "lineprof",
        f"tests.testapp.escapes.{ESCAPES[name][0].__name__}",
        "--url",
        f"/escape/{name}/",
        "--no-files",
    ),
    "profile_call": lambda name, tmp: (
        "profile_call",
        f"tests.testapp.escapes.{ESCAPES[name][0].__name__}",
        "--no-files",
    ),
    "profile_command": lambda name, tmp: ("profile_command", "--no-files", "escape", "--", name),
    "profile_replay": lambda name, tmp: (
        "profile_replay",
        replay_log(tmp, name, 2),
        "--no-files",
    ),
    "profile_replay --workers 2": lambda name, tmp: (
        "profile_replay",
        replay_log(tmp, name, 2),
        "--workers",
        "2",
        "--no-files",
    ),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", ESCAPES)
def test_escapes_leave_no_row_and_the_output_says_what_was_refused(tmp_path, name, command):
    Author.objects.create(name="before")
    status, out, err = run(*COMMANDS[command](name, tmp_path))
    # Nothing the escape wrote is left, and nothing else either.
    assert list(Author.objects.values_list("name", flat=True)) == ["before"], (out, err)
    refused = ESCAPES[name][1]
    if refused:
        assert status == 1, (out, err)
        assert "Refused, so that nothing escapes the rollback (nothing was committed):" in out + err
        assert "tests/testapp/escapes.py:" in out + err  # the line that issued it
    else:
        assert status == 0, (out, err)
        assert "Refused" not in out + err
        assert "rolled back" in out


@pytest.mark.parametrize("name", ["raw-commit", "dbapi-commit"])
def test_the_session_of_user_is_not_committed_with_the_escape(member, name):
    from django.contrib.sessions.models import Session

    status, out, err = run("profile_view", f"/escape/{name}/", "--user", member.email, "--no-files")
    assert status == 1, (out, err)
    assert Session.objects.count() == 0
    assert list(Author.objects.all()) == []


@pytest.mark.parametrize(
    ("sql", "refused"),
    [
        ("SELECT 1", False),
        ("INSERT INTO t VALUES (1)", False),
        ("COMMIT", True),
        ("commit", True),
        ("  \n END", True),
        ("/* hidden */ COMMIT", True),
        ("-- a comment\nCOMMIT", True),
        ("ROLLBACK", True),
        ("ROLLBACK WORK", True),
        ("ABORT", True),
        ("BEGIN", True),
        ("START TRANSACTION", True),
        ("PREPARE TRANSACTION 'x'", True),
        ("INSERT INTO t VALUES (1); COMMIT", True),
        ("SELECT 1; commit;", True),
        ("INSERT INTO t VALUES ('; COMMIT')", False),  # a literal, not a statement
        ("DO $$ BEGIN PERFORM 1; END $$", False),  # a body, not the transaction
        ('SAVEPOINT "s1_x2"', False),
        ('RELEASE SAVEPOINT "s1_x2"', False),  # the profiled code's own savepoint
        ('ROLLBACK TO SAVEPOINT "s1_x2"', False),
        ('RELEASE SAVEPOINT "s1_x1"', True),  # the sandbox's
        ('ROLLBACK TO SAVEPOINT "s1_x1"', True),
        ("rollback to s1_x1", True),
        ('RELEASE SAVEPOINT "S1_X1"', True),
        # Quotes inside identifiers open no literal; a $ inside one opens no dollar quote.
        ("""SELECT 1 AS "it's"; COMMIT; SELECT ''""", True),
        ("SELECT 1 AS a$b$; COMMIT; SELECT 2 AS c$b$", True),
        ("SELECT 1 AS `x'`; COMMIT", True),
    ],
)
def test_transaction_control_on_the_sandbox_connection(sql, refused):
    """SQLite and PostgreSQL: DDL is transactional and runs."""
    from django_profilecmds.sandbox.databases import control_reason

    assert (control_reason(sql, {"s1_x1"}) is not None) is refused


@pytest.mark.parametrize(
    ("sql", "refused"),
    [
        ("SELECT * FROM t", False),
        ("WITH x AS (SELECT 1) SELECT * FROM x", False),
        ("PRAGMA table_info(t)", False),
        ("SAVEPOINT s", False),
        ("INSERT INTO t VALUES (1)", True),
        ("update t set a = 1", True),
        ("DELETE FROM t", True),
        ("CREATE TABLE u (a int)", True),
        ("SELECT 1; DELETE FROM t", True),
        ("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", True),
        ("SET default_transaction_read_only = off", True),
        ("BEGIN READ WRITE", True),
        ("RESET ALL", True),
        ("DISCARD ALL", True),
        ("PRAGMA query_only = 0", True),
    ],
)
def test_writes_on_a_connection_outside_the_rollback(sql, refused):
    from django_profilecmds.sandbox.databases import write_reason

    assert (write_reason(sql) is not None) is refused


@given(st.one_of(st.text(), st.binary()))
def test_the_statement_checks_never_raise(sql):
    from django_profilecmds.sandbox.databases import control_reason, write_reason

    control_reason(sql, {"s1_x1"})
    write_reason(sql)
    # Whatever precedes it, a COMMIT statement of its own is always refused.
    text = sql.decode("utf-8", "replace") if isinstance(sql, bytes) else sql
    if "'" not in text and "$" not in text and "/*" not in text and "--" not in text:
        assert control_reason(f"{text};COMMIT", set()) is not None


@pytest.mark.parametrize(
    ("sql", "refused"),
    [
        ("SELECT 1", False),
        ("INSERT INTO t VALUES (1)", False),
        ("TRUNCATE t", True),
        ("CREATE TABLE u (a int)", True),
        ("LOCK TABLES t WRITE", True),
        ("SET autocommit = 1", True),
        ("SET @@session.autocommit = ON", True),
    ],
)
def test_statements_that_commit_by_themselves_on_mysql_and_oracle(sql, refused):
    from django_profilecmds.sandbox.databases import implicit_commit_reason

    assert (implicit_commit_reason(sql) is not None) is refused


def test_commit_leaves_other_threads_free_to_write():
    status, out, err = run("profile_view", "/escape/thread-joined/", "--commit", "--no-files")
    assert status == 0, (out, err)
    assert Author.objects.filter(name="ESCAPED").count() == 1


def test_replay_in_workers_as_a_user_on_per_run_transactions(member, tmp_path):
    log = tmp_path / "access.log"
    line = '127.0.0.1 - - [20/Nov/2026:10:00:00 +0000] "GET /private/ HTTP/1.1" 200 2 "-" "-"'
    log.write_text("\n".join([line] * 4) + "\n")
    status, out, err = run(
        "profile_replay", str(log), "--workers", "2", "--user", member.email, "--no-files"
    )
    assert status == 0, (out, err)
    assert "Refused" not in out + err
    from django_profilecmds.replay.engine import ReplayOptions, replay_file

    stats = replay_file(log, ReplayOptions(user=member.email, workers=2))
    assert stats.views["private"].statuses == {"200": 4}


@pytest.mark.parametrize("commit", [[], ["--commit"]])
def test_ctrl_c_keeps_nothing_and_exits_130(commit):
    from tests.testapp.waiting import NAME

    status, out, err = run(
        "profile_call", "tests.testapp.waiting.create_author_then_interrupt", "--no-files", *commit
    )
    assert (status, out, err) == (130, "", "CommandError: Interrupted; nothing was committed.\n")
    assert not Author.objects.filter(name=NAME).exists()


def test_under_the_test_runner_the_project_databases_are_read_only_for_the_run_only():
    from django_profilecmds.sandbox import Sandbox, SandboxOptions, WriteRefused

    with Sandbox(SandboxOptions(test_databases=True)) as box, box.run():
        with pytest.raises(WriteRefused):
            Author.objects.create(name="ESCAPED")
        assert not Author.objects.filter(name="ESCAPED").exists()  # reads are fine
    assert len(box.report.refused) == 1
    assert not Author.objects.filter(name="ESCAPED").exists()
    Author.objects.create(name="after the run")  # the guard is gone with the run


def test_the_test_runner_cannot_be_sandboxed_inside_a_transaction():
    from django.db import transaction

    from django_profilecmds.exceptions import ProfileCmdsError
    from django_profilecmds.sandbox import Sandbox, SandboxOptions

    with transaction.atomic(), pytest.raises(ProfileCmdsError, match="inside a transaction"):
        Sandbox(SandboxOptions(test_databases=True)).__enter__()


@pytest.mark.parametrize("per_run_transactions", [False, True])
def test_a_long_series_of_runs_keeps_nothing_per_run(per_run_transactions):
    # A replay of a million lines is a million runs in one sandbox: what the guards remember of
    # each run's savepoint must go with it, or memory grows with the log.
    from django_profilecmds.sandbox import Sandbox, SandboxOptions

    remembered = []
    options = SandboxOptions(per_run_transactions=per_run_transactions)
    with Sandbox(options) as sandbox:
        for index in range(40):
            with sandbox.run():
                Author.objects.create(name=f"Run {index}")
                assert Author.objects.count() == 1  # each run starts from the same data
            guards = sandbox.databases._own.values()
            remembered.append(sum(len(guard.protected) for guard in guards))
    assert remembered == [remembered[0]] * 40
    assert Author.objects.count() == 0
