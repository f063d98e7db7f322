"""profile_view as a whole process on a project that is not the demo: the test project, with
its custom user model keyed on email, DEBUG off and a non-default ALLOWED_HOSTS."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def django_admin(project_process):
    return project_process.run


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
