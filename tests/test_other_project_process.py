"""profile_view as a whole process on a project that is not the demo: the test project, with
its custom user model keyed on email, DEBUG off and a non-default ALLOWED_HOSTS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def django_admin(tmp_path_factory):
    directory = tmp_path_factory.mktemp("project")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PROFILECMDS_TEST_DB_DIR": str(directory),
        "DJANGO_SUPERUSER_EMAIL": "grace@example.com",
        "DJANGO_SUPERUSER_PASSWORD": "not-used",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "django", *args],
            env=env,
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=120,
        )

    for command in (
        ["migrate", "-v0"],
        ["migrate", "-v0", "--database", "audit"],
        ["createsuperuser", "--noinput"],
    ):
        done = run(*command)
        assert done.returncode == 0, done.stderr
    return run


def test_login_required_page_as_user_named_by_email(django_admin):
    done = django_admin("profile_view", "/private/", "--user", "grace@example.com", "--no-files")
    assert done.returncode == 0, done.stderr
    assert "as grace@example.com (pk=1)" in done.stdout
    assert "200 OK" in done.stdout


def test_unknown_path_exits_1_with_suggestions(django_admin):
    done = django_admin("profile_view", "/privat/", "--no-files")
    assert done.returncode == 1
    assert "No URL pattern matches '/privat/'" in done.stderr
    assert "/private/" in done.stderr
    assert "Traceback" not in done.stderr
