"""tests/with_postgres.sh, the throwaway server of the PostgreSQL pass: what it says it runs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "with_postgres.sh"


def shell(command: str) -> str:
    """``command`` run by bash with the script's functions defined (sourcing it runs nothing)."""
    done = subprocess.run(
        ["bash", "-c", f'source "{SCRIPT}" && {command}'],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("line", "version"),
    [
        ("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", "15.18"),
        ("postgres (PostgreSQL) 16.4 (Ubuntu 16.4-0ubuntu0.24.04.2)", "16.4"),
        ("postgres (PostgreSQL) 17.2 (Homebrew)", "17.2"),
        ("postgres (PostgreSQL) 13.16", "13.16"),
        ("postgres (PostgreSQL) 18beta1", "18beta1"),
    ],
)
def test_the_server_version_is_read_from_postgres_version(line, version):
    assert shell(f"version_of '{line}'") == version


def test_the_installed_servers_version_is_a_version_number():
    bindir = shell("find_bindir || true")
    if not bindir:
        pytest.skip("PostgreSQL is not installed")
    version = shell(f'version_of "$("{bindir}/postgres" --version)"')
    assert re.fullmatch(r"\d+(\.\d+)?(beta\d+|rc\d+)?", version), version
