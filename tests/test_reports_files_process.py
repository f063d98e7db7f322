"""Report files under real failures, with profile_view as a whole process: a full disk (a small
tmpfs, or the kernel's file size limit), a directory the process may not write to, and twelve
runs writing into one directory at once."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

# The file size limit (RLIMIT_FSIZE) makes a write past it fail with EFBIG, a real failure of
# the kernel; SIGXFSZ, which it also sends, would kill the process instead.
LIMITED = """\
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv.pop(1))
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from django.core.management import execute_from_command_line
execute_from_command_line(["django", *sys.argv[1:]])
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    directory = tmp_path_factory.mktemp("project")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PROFILECMDS_TEST_DB_DIR": str(directory),
    }
    for command in (["migrate", "-v0"], ["migrate", "-v0", "--database", "audit"]):
        done = subprocess.run(
            [sys.executable, "-m", "django", *command], env=env, cwd=directory, capture_output=True
        )
        assert done.returncode == 0, done.stderr
    return directory, env


def profile_view(project, output_dir: Path, *, prefix=(), limit=None) -> subprocess.Popen[str]:
    directory, env = project
    start = [sys.executable, "-m", "django"] if limit is None else [sys.executable, "-c", LIMITED]
    limit_args = [] if limit is None else [str(limit)]
    command = [*start, *limit_args, "profile_view", "/books/", "--output-dir", str(output_dir)]
    return subprocess.Popen(
        [*prefix, *command, "--profiler", "none"],
        env=env,
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def snapshot(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.iterdir()}


def assert_one_line_error(err: str, *words: str) -> None:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("CommandError: "), err
    for word in words:
        assert word in lines[0]


@contextlib.contextmanager
def small_tmpfs(directory: Path) -> Iterator[Path]:
    directory.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(directory)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)")
    try:
        yield directory
    finally:
        subprocess.run(["umount", str(directory)], check=True)


def fill(directory: Path) -> Path:
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 4096)
    return filler


@pytest.mark.parametrize("full", ["tmpfs", "file-size-limit"])
def test_a_full_disk_is_a_one_line_error_and_keeps_the_previous_index(project, tmp_path, full):
    with contextlib.ExitStack() as stack:
        if full == "tmpfs":
            output = stack.enter_context(small_tmpfs(tmp_path / "mnt"))
        else:
            output = tmp_path / "reports"
        status, _, err = run(profile_view(project, output))
        assert status == 0, err
        before = snapshot(output)
        assert before["index.html"].rstrip().endswith(b"</html>")
        if full == "tmpfs":
            fill(output)
            status, _, err = run(profile_view(project, output))
            (output / "filler").unlink()
            words = ["No space left on device"]
        else:
            status, _, err = run(profile_view(project, output, limit=4096))
            words = ["File too large"]
        assert status == 1
        assert_one_line_error(err, "no report of this run was kept", *words)
        assert snapshot(output) == before  # nothing new, nothing partial, the index intact


def without_file_permission_override() -> list[str]:
    """A prefix that runs a command without root's power to write where permissions forbid."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def test_a_read_only_index_is_replaced_and_a_read_only_directory_refused(project, tmp_path):
    prefix = without_file_permission_override()
    output = tmp_path / "reports"
    output.mkdir(mode=0o700)
    (output / "index.html").write_text("an old index")
    (output / "index.html").chmod(0o444)
    status, out, err = run(profile_view(project, output, prefix=prefix))
    assert status == 0, err
    index = (output / "index.html").read_text()
    assert "Profiling runs" in index and (output / "index.html").stat().st_mode & 0o777 == 0o600

    output.chmod(0o500)
    try:
        before = snapshot(output)
        status, out, err = run(profile_view(project, output, prefix=prefix))
        assert status == 1
        assert_one_line_error(err, "is not a writable directory", str(output))
        assert snapshot(output) == before
    finally:
        output.chmod(0o700)


def test_twelve_runs_at_once_into_one_directory_keep_twelve_reports(project, tmp_path):
    output = tmp_path / f"reports-{uuid.uuid4().hex[:6]}"
    processes = [profile_view(project, output) for _ in range(12)]
    results = [run(process) for process in processes]
    assert [status for status, _, _ in results] == [0] * 12, [err for *_, err in results]
    printed = [
        Path(line.strip()).name
        for _, out, _ in results
        for line in out.splitlines()
        if line.strip().endswith(".html") and not line.strip().endswith("index.html")
    ]
    assert len(printed) == len(set(printed)) == 12
    reports = sorted(path.name for path in output.glob("*.html") if path.name != "index.html")
    assert reports == sorted(printed)
    for name in printed:
        assert (output / name).read_text().rstrip().endswith("</html>")
        assert (output / name).with_suffix(".json").stat().st_size > 0
    index = (output / "index.html").read_text()
    assert all(name in index for name in printed)
    assert not [path.name for path in output.iterdir() if path.name.startswith(".")]
