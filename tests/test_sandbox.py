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
