"""Another git revision of the project, checked out beside it for an A/B replay.

The revision is resolved in the repository that holds ``settings.BASE_DIR`` (else the current
directory) and checked out with ``git worktree add --detach`` into a temporary directory,
which is removed afterwards whatever happens (``git worktree remove --force``, then ``prune``).
The project's own working tree, index and branches are never touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django_profilecmds.exceptions import ProfileCmdsError

GIT_TIMEOUT = 120  # seconds; a checkout of a large tree takes a while


class RevisionError(ProfileCmdsError):
    """A revision that cannot be checked out: no git, no repository, no such commit."""


def project_repository() -> Path:
    """The top of the git repository that holds the project (``settings.BASE_DIR``, else the
    current directory)."""
    from django.conf import settings

    base = getattr(settings, "BASE_DIR", None)
    start = Path(base) if base else Path.cwd()
    if not start.is_dir():
        start = Path.cwd()
    _require_git()
    try:
        top = _git(start, "rev-parse", "--show-toplevel")
    except RevisionError:
        raise RevisionError(
            f"--against compares git revisions, and {start} is not in a git repository."
        ) from None
    return Path(top)


def resolve_revision(repository: Path, revision: str) -> str:
    """The commit that ``revision`` (a hash, a branch, a tag, ``HEAD~1``) names."""
    if not revision or revision.startswith("-"):
        raise RevisionError(f"--against: {revision!r} is not a git revision.")
    try:
        return _git(repository, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except RevisionError:
        raise RevisionError(
            f"--against: no commit {revision!r} in the git repository {repository}."
        ) from None


@contextlib.contextmanager
def checked_out(repository: Path, commit: str) -> Iterator[Path]:
    """A detached worktree of ``commit`` in a temporary directory, removed on leaving (also on
    Ctrl-C and on errors)."""
    parent = Path(tempfile.mkdtemp(prefix="profilecmds-against-"))
    tree = parent / "tree"
    try:
        _git(repository, "worktree", "add", "--detach", "--quiet", str(tree), commit)
        yield tree
    finally:
        with contextlib.suppress(RevisionError):
            _git(repository, "worktree", "remove", "--force", str(tree))
        with contextlib.suppress(RevisionError):
            _git(repository, "worktree", "prune")
        shutil.rmtree(parent, ignore_errors=True)


def short_description(repository: Path, commit: str) -> str:
    """``1a2b3c4 Make the listing faster``: a commit as the reports name it."""
    try:
        return _git(repository, "log", "-1", "--format=%h %s", commit)
    except RevisionError:
        return commit[:12]


def _require_git() -> None:
    if shutil.which("git") is None:
        raise RevisionError("--against needs git, and there is no git command on the PATH.")


def _git(directory: Path, *args: str) -> str:
    """Run git in ``directory``; its output, stripped. A failure is a RevisionError with git's
    first line of complaint."""
    _require_git()
    # Git's own environment (GIT_DIR, GIT_WORK_TREE of a hook) must not redirect it.
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    try:
        completed = subprocess.run(
            ["git", *args],
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RevisionError(f"git {args[0]} failed: {exc}.") from None
    if completed.returncode != 0:
        complaint = (completed.stderr.strip().splitlines() or ["no message"])[0]
        raise RevisionError(f"git {args[0]} failed: {complaint}")
    return completed.stdout.strip()
