"""profile_view as a whole process on a project that is not the demo: the test project, with
its custom user model keyed on email, DEBUG off and a non-default ALLOWED_HOSTS."""

from __future__ import annotations

import subprocess

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


def profile_and_open(project, directory, browser):
    """profile_view --open with $BROWSER as the only browser: there is no DISPLAY or TERM in
    the project's environment, so webbrowser registers no other."""
    return subprocess.run(
        project.argv(
            "profile_view", "/books/", "--open", "--profiler", "none", "--output-dir", directory
        ),
        env={**project.env, "BROWSER": browser},
        cwd=project.directory,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("browser", ["/nonexistent/browser", "false"])
def test_open_without_a_browser_says_where_the_report_is(project_process, tmp_path, browser):
    done = profile_and_open(project_process, tmp_path, browser)
    assert done.returncode == 0, done.stderr
    report = next(path for path in tmp_path.glob("*.html") if path.name != "index.html")
    assert done.stderr.splitlines()[-1] == (
        f"--open: no web browser could be opened; the report is {report}"
    )


def test_open_with_a_browser_says_nothing_more(project_process, tmp_path):
    done = profile_and_open(project_process, tmp_path, "true")  # it opens every page
    assert done.returncode == 0, done.stderr
    assert "--open" not in done.stderr
