from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.testapp.models import Author, Book, Member


@pytest.fixture
def books(db):
    """Twelve books by three authors: the book list runs 1 + 12 queries."""
    authors = [Author.objects.create(name=f"Author {i}") for i in range(3)]
    return [Book.objects.create(title=f"Book {i}", author=authors[i % 3]) for i in range(12)]


@pytest.fixture
def member(db):
    return Member.objects.create_user("ada@example.com", "pw", name="Ada")


@dataclass
class ProjectProcess:
    """The test project, migrated in a directory of its own, run as ``python -m django``."""

    directory: Path
    env: dict[str, str]

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "django", *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            env=self.env,
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=120,
        )

    @property
    def database(self) -> Path:
        """The SQLite file of the ``default`` alias."""
        return self.directory / "profilecmds-tests.sqlite3"


@pytest.fixture(scope="session")
def project_process(tmp_path_factory):
    """Its databases migrated, and grace@example.com a superuser."""
    directory = tmp_path_factory.mktemp("project")
    project = ProjectProcess(
        directory,
        {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PROFILECMDS_TEST_DB_DIR": str(directory),
            "DJANGO_SUPERUSER_EMAIL": "grace@example.com",
            "DJANGO_SUPERUSER_PASSWORD": "not-used",
        },
    )
    for command in (
        ["migrate", "-v0"],
        ["migrate", "-v0", "--database", "audit"],
        ["createsuperuser", "--noinput"],
    ):
        done = project.run(*command)
        assert done.returncode == 0, done.stderr
    return project
