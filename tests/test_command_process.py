"""The commands as whole processes, where a terminal, a signal or ``sys.exit()`` reach them as
they reach a person's ``manage.py``: what a call_command() test cannot show."""

from __future__ import annotations

import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.interrupts import ctrl_c_handled

pytestmark = pytest.mark.slow

TIMEOUT = 60.0  # seconds: a command that waits for a person fails the test instead of hanging


def run_in_terminal(project, *args: str) -> tuple[int, str]:
    """Run ``python -m django ARGS`` with a pseudo-terminal as its controlling terminal (as
    ``getpass`` needs to prompt); returns its exit status and everything it wrote there."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdin, stdout, stderr and /dev/tty are the terminal
        try:
            os.chdir(project.directory)
            os.execve(sys.executable, project.argv(*args), project.env)
        finally:
            os._exit(127)
    output = b""
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"Still waiting after {TIMEOUT} s; the terminal shows {output!r}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(fd)
        reaped, status = os.waitpid(pid, os.WNOHANG)
        if reaped == 0:  # still running: it waited for the terminal
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace")


def interrupt_once_started(project, marker, *args: str) -> tuple[int, str]:
    """Run ``python -m django ARGS``, press Ctrl-C once the profiled code has written its row
    (``marker`` then holds its primary key); the exit status and stderr."""
    process = subprocess.Popen(
        project.argv(*args),
        env={**project.env, "PROFILECMDS_TEST_MARKER": str(marker)},
        cwd=project.directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_handled,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), process.communicate(timeout=TIMEOUT)
        assert marker.read_text().isdigit()  # the row is written, in the run's transaction
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, err


def test_a_password_prompt_fails_at_once_on_a_terminal(project_process):
    arguments = ["--no-files", "--no-color", "changepassword", "--", "grace@example.com"]
    status, shown = run_in_terminal(project_process, "profile_command", *arguments)
    assert status == 1
    assert not shown.startswith("Password:") and "Traceback" not in shown
    assert shown.strip().splitlines() == [
        "CommandError: The command 'changepassword' asked for interactive input ('Password:'), "
        "which is not available under the profiler; it has no --no-input option: give its "
        "answers as arguments if it takes them, or profile the code it runs with profile_call."
    ]


def count_authors(database, name: str) -> int:
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute(
            "SELECT COUNT(*) FROM testapp_author WHERE name = ?", [name]
        ).fetchone()
    return int(count)


@pytest.mark.parametrize(
    "command",
    [
        ["profile_call", "tests.testapp.waiting.create_author_then_wait"],
        ["profile_view", "/wait/"],
        ["lineprof", "tests.testapp.waiting.create_author_then_wait", "--call"],
    ],
)
@pytest.mark.parametrize("commit", [False, True])
def test_ctrl_c_is_one_line_exit_130_and_rolls_back(project_process, tmp_path, command, commit):
    from tests.testapp.waiting import NAME

    marker = tmp_path / "started"
    extra = ["--commit"] if commit else []
    returncode, err = interrupt_once_started(
        project_process, marker, *command, "--no-files", *extra
    )
    assert returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines() == ["CommandError: Interrupted; nothing was committed."]
    assert count_authors(project_process.database, NAME) == 0


def test_profiling_the_test_runner_on_its_own_databases(project_process):
    from tests.testapp.profiled_suite import ROW

    done = project_process.run(
        "profile_command", "--no-files", "test", "--", "tests.testapp.profiled_suite.WritesAndSends"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Ran 1 test" in done.stderr and "OK" in done.stderr
    assert "2 emails captured, not sent" in done.stdout
    assert "The test runner's own test databases; the project's were read-only." in done.stdout
    assert count_authors(project_process.database, ROW) == 0
    assert not list(project_process.directory.glob("profilecmds-test-*"))  # destroyed


def test_a_test_runner_that_writes_to_the_project_databases_is_refused(project_process):
    from tests.testapp.profiled_suite import ROW

    done = project_process.run(
        "profile_command",
        "--no-files",
        "test",
        "--",
        "--testrunner",
        "tests.testapp.profiled_suite.NoDatabaseRunner",
        "tests.testapp.profiled_suite.WritesAndSends",
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "it would write through a connection outside the sandbox's transaction" in done.stderr
    assert "tried to write outside the sandbox's transaction" in done.stderr
    assert "Traceback" not in done.stderr.split("Ran 1 test")[-1]
    assert count_authors(project_process.database, ROW) == 0


@pytest.mark.parametrize("module", ["exits_on_import", "raises_on_import", "syntax_error"])
@pytest.mark.parametrize("command", ["profile_call", "lineprof"])
def test_a_target_module_that_fails_to_import_is_one_line_and_exit_1(
    project_process, command, module
):
    dotted = f"tests.testapp.hostile.{module}"
    extra = ["--call"] if command == "lineprof" else []
    done = project_process.run(command, f"{dotted}.func", "--no-files", *extra)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(f"CommandError: Importing {dotted!r} raised ")


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]])
def test_ctrl_c_during_a_replay_is_one_line_exit_130_and_rolls_back(
    project_process, tmp_path, workers
):
    from tests.testapp.waiting import NAME

    marker = tmp_path / "started"
    log = tmp_path / "access.log"
    line = '127.0.0.1 - - [01/Dec/2026:10:00:00 +0000] "GET /wait/ HTTP/1.1" 200 6 "-" "-"\n'
    log.write_text(line * 4)
    returncode, err = interrupt_once_started(
        project_process, marker, "profile_replay", str(log), "--no-files", *workers
    )
    assert returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "CommandError: Interrupted; nothing was committed."
    time.sleep(1)  # workers end with their parent
    assert count_authors(project_process.database, NAME) == 0


def test_an_unexpected_exception_is_printed_masked_with_exit_1(project_process):
    from tests.testapp.leaks import LIVE_KEY

    for extra in ([], ["--traceback"]):
        done = project_process.run("crashcmd", *extra)
        assert done.returncode == 1
        assert "RuntimeError: connect failed" in done.stderr and "Traceback" in done.stderr
        for secret in ("planted-crash-pw", LIVE_KEY):
            assert secret not in done.stderr + done.stdout


def test_a_value_outside_a_fixed_set_is_one_line_and_exit_1(project_process):
    done = project_process.run("profile_view", "/books/", "--sql=bogus", "--no-files")
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert (
        done.stderr
        == "CommandError: Unknown --sql mode 'bogus'; choose from summary, full, none.\n"
    )
    # Other usage errors stay argparse's: the usage, and exit status 2.
    done = project_process.run("profile_view", "/books/", "--no-such-option")
    assert done.returncode == 2
    assert "usage: " in done.stderr and "unrecognized arguments: --no-such-option" in done.stderr
