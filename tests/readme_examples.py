"""The README's console examples, run on the demo project and compared with what they show.

Every ``$ command`` in a ```` ```console ```` block of README.md is an example. Those that start
with ``python`` run on a seeded copy of the demo project: ``python manage.py ...`` in its
directory (``demo_site/``), ``python demo_site/manage.py ...`` from the checkout's root, one
after the other (a ``--save`` is there for the next example's ``--compare``). The lines under a
command are its output, compared by shape: numbers (times, sizes, dates, counts) and runs of
spaces may differ, and a query's SQL after its table (which Django versions write differently),
nothing else. A ``...`` line stands for output left out. Call-tree lines are
checked by the function and file they name, since which small frames a sample catches varies
from run to run. A command that cannot run here is listed in ``NOT_RUN`` with the reason.

``python -m tests.readme_examples --update`` runs them and writes the real output of every
example that shows output without ``...`` back into README.md.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ELISION = "..."

# Commands the suite cannot run as a user would, by how they start, and why.
NOT_RUN = {
    "make demo": "its last step is the first example shown, which runs below",
    "make test": "the suite itself (CI runs it)",
    "pip install": "installs into the environment of whoever runs it",
    "cd ": "where the examples run: each example gets its directory",
    "PROFILECMDS_TEST_DATABASE_URL=": "needs a PostgreSQL server of your own",
}


@dataclass
class Example:
    command: str
    line: int  # in README.md, 1-based
    shown: list[str] = field(default_factory=list)

    @property
    def elided(self) -> bool:
        return any(line.strip() == ELISION for line in self.shown)

    @property
    def runs(self) -> bool:
        return self.command.startswith("python ")

    @property
    def reason_not_run(self) -> str | None:
        return next((why for start, why in NOT_RUN.items() if self.command.startswith(start)), None)


def examples(text: str | None = None) -> list[Example]:
    """The examples of README.md (or of ``text``), in order."""
    text = README.read_text() if text is None else text
    found: list[Example] = []
    inside = False
    current: Example | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            inside, current = line.strip() == "```console", None
            continue
        if not inside:
            continue
        if line.startswith("$ "):
            current = Example(line[2:].strip(), number)
            found.append(current)
        elif current is not None:
            current.shown.append(line)
    return found


@dataclass
class Snippet:
    code: str
    line: int  # of its first line, in README.md

    @property
    def is_settings(self) -> bool:
        """A settings fragment (``PROFILECMDS = {...}``), checked by ``manage.py check``."""
        return self.code.lstrip().startswith("PROFILECMDS")


def snippets(text: str | None = None) -> list[Snippet]:
    """The ```` ```python ```` blocks of README.md."""
    text = README.read_text() if text is None else text
    found: list[Snippet] = []
    lines: list[str] | None = None
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        if lines is None and line.strip() == "```python":
            lines, start = [], number + 1
        elif lines is not None and line.startswith("```"):
            found.append(Snippet("\n".join(lines) + "\n", start))
            lines = None
        elif lines is not None:
            lines.append(line)
    return found


def run_snippet(
    snippet: Snippet, directory: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Code runs in the demo's ``manage.py shell``; a settings fragment is added to the demo's
    settings, which ``manage.py check`` then checks."""
    demo = directory / "demo_site"
    if snippet.is_settings:
        module = f"readme_settings_{snippet.line}"
        (demo / f"{module}.py").write_text(
            "from demo_site.settings import *  # noqa: F403\n\n" + snippet.code
        )
        argv = [sys.executable, "manage.py", "check", "--settings", module, "--fail-level", "ERROR"]
    else:
        argv = [sys.executable, "manage.py", "shell", "--no-imports", "-c", snippet.code]
    return subprocess.run(argv, cwd=demo, env=env, capture_output=True, text=True, timeout=300)


def command_line(command: str) -> list[str]:
    """The argv of an example, its ``# comment`` left out and ``python`` this interpreter."""
    argv = shlex.split(command, comments=True)
    return [sys.executable, *argv[1:]]


def prepare_demo(directory: Path) -> dict[str, str]:
    """A copy of the demo project in ``directory`` with a migrated, seeded database; returns
    the environment its commands run in."""
    shutil.copytree(
        ROOT / "demo_site",
        directory / "demo_site",
        ignore=shutil.ignore_patterns("db.sqlite3", "profiles", "__pycache__", "*.json"),
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(directory),
        "DEMO_DATABASE_PATH": str(directory / "demo.sqlite3"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    manage = [sys.executable, "manage.py"]
    for step in (["migrate", "--verbosity", "0"], ["seed_demo"]):
        subprocess.run(
            [*manage, *step], cwd=directory / "demo_site", env=env, check=True, capture_output=True
        )
    return env


def run(example: Example, directory: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = command_line(example.command)
    from_root = len(argv) > 1 and argv[1].startswith("demo_site/")
    return subprocess.run(
        argv,
        cwd=directory if from_root else directory / "demo_site",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
TREE_GLYPHS = re.compile(r"^[\s│├└─]*")
TREE_LINE = re.compile(r"^[\s│├└─]*(?:\d+\.\d{3} |\[\d+ frames hidden\])")


SQL_TAIL = re.compile(r'( FROM "[^"]+").*')
# A replay row's command names the view's slowest request, which timing picks among its
# paths (/listings/ or /listings/?page=2): its query string is free to differ.
SLOWEST = re.compile(r"profile_view '?(/[^ ?']*)(?:\?[^ ']*)?'?")


def normal(line: str) -> str:
    """A line with its numbers as N, its runs of spaces as one, and a query cut after its
    table (Django versions write the rest differently: ``"is_active"`` or ``"is_active" = ?``).
    """
    line = SLOWEST.sub(r"profile_view \1", SQL_TAIL.sub(r"\1", line))
    return " ".join(NUMBER.sub("N", line).split())


def is_tree(line: str) -> bool:
    return bool(TREE_LINE.match(line))


def tree_key(line: str) -> str:
    """A call-tree line by what it names: ``Listing.latest_price shop/models.py:N``."""
    line = TREE_GLYPHS.sub("", line)
    if "frames hidden]" in line:
        return "[N frames hidden]"
    return normal(line.split(" ", 1)[1]) if " " in line else normal(line)


def differences(shown: list[str], output: str) -> list[str]:
    """What in ``shown`` the real ``output`` does not bear out (empty when it has the shape).
    An example that shows no output claims none."""
    if not shown:
        return []
    real = output.splitlines()
    problems = []
    shown_lines = [line for line in shown if line.strip() != ELISION]
    elided = len(shown_lines) != len(shown)
    want = Counter(normal(line) for line in shown_lines if not is_tree(line))
    have = Counter(normal(line) for line in real if not is_tree(line))
    for line, count in (want - have).items():
        problems.append(f"shown but not in the output: {line!r}" + (f" (x{count})" * (count > 1)))
    if not elided:
        for line, count in (have - want).items():
            problems.append(
                f"in the output but not shown: {line!r}" + (f" (x{count})" * (count > 1))
            )
    trees = {tree_key(line) for line in real if is_tree(line)}
    for line in shown_lines:
        if is_tree(line) and tree_key(line) not in trees:
            problems.append(f"call-tree line not in the output's tree: {line.strip()!r}")
    return problems


def update(directory: Path) -> None:
    """Run every example and write the real output of those shown whole into README.md."""
    env = prepare_demo(directory)
    lines = README.read_text().splitlines()
    replacements = []
    for example in examples():
        if not example.runs:
            continue
        done = run(example, directory, env)
        if done.returncode != 0:
            raise SystemExit(f"README.md:{example.line}: {example.command}\n{done.stderr}")
        if example.shown and not example.elided:
            replacements.append((example, done.stdout.rstrip("\n").splitlines()))
    for example, output in reversed(replacements):
        start = example.line  # the line after the command, 0-based
        lines[start : start + len(example.shown)] = [line.rstrip() for line in output]
    README.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    import tempfile

    if sys.argv[1:] != ["--update"]:
        raise SystemExit("usage: python -m tests.readme_examples --update")
    with tempfile.TemporaryDirectory() as temporary:
        update(Path(temporary))
