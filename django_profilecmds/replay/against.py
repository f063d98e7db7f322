"""An A/B replay: the recorded requests sent in pairs to another git revision of the project
(A, the one before the change) and to this tree (B, with the change), each in a worker process
of its own (:mod:`.revisionworker`). "Slower" means this tree is slower than the revision.

Both workers are fresh interpreters started alike (same settings module, same database, each
in its own sandbox), B on this process's path, A on the same path with the repository's
entries moved to A's checkout. The parent reads the source and chooses the requests (by this
tree's URLs) and sends every request to both, A first in one pair of a view and B first in the
view's next, so that what changes during the replay and what the side that goes first leaves
behind (caches, the CPU's state) fall on both alike.

A process has a speed of its own: where its memory lies, which core it settles on beside the
machine's other work. Two processes of the same code differ by several percent, steadily for
as long as they live, and more on a busy machine; and a process that has just served a heavy
request leaves the next one, on either side, a machine in another state. So, as asv does, the
pairs go in rounds: each round is ``ROUND`` pairs of one view (or group), sent to a new pair of
processes, the first ``WARMUP`` of them sent once to both beforehand, uncounted. A view's
verdict tests its rounds, not its pairs (:mod:`django_profilecmds.analysis.paired`): the pairs
of one round share their processes' speed, and only the rounds are independent of each other.
The parent holds at most ``ROUND`` requests per view while it reads the source.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from django_profilecmds.analysis.paired import Pair, PairedChange, RequestTiming
from django_profilecmds.analysis.replay import ReplayStats
from django_profilecmds.exceptions import ProfileCmdsError
from django_profilecmds.replay.options import Progress, ReplayOptions, Source
from django_profilecmds.replay.recorded import ReplayRequest
from django_profilecmds.replay.selection import RequestFilter, view_key

if TYPE_CHECKING:
    from django_profilecmds.analysis.metrics import MetricChoice

WARMUP = 5  # requests of a round each side replays once before the round's counted pairs
ROUND = 20  # pairs of one view sent to one pair of processes, which then end
STDERR_TAIL = 2000  # characters of a failed worker's stderr shown


@dataclass
class AgainstReplay:
    """What an A/B replay measured: per row (view), the pairs (A, B) in the order sent."""

    revision: str  # as given
    commit: str
    described: str  # ``1a2b3c4 subject``
    rows: dict[str, list[Pair]] = field(default_factory=dict)
    round_of: dict[str, list[int]] = field(default_factory=dict)  # each pair's round, by row
    warmup: int = 0  # most warm-up requests sent to a side in a round
    rounds: int = 0  # rounds sent, each to a new pair of processes
    round_pairs: int = ROUND  # most pairs in a round
    skipped: int = 0  # answered by a side as not found there (or an unknown user)
    stats: ReplayStats = field(default_factory=ReplayStats)  # what was not replayed, and why
    conditions: dict[str, Any] = field(default_factory=dict)  # see analysis.conditions

    @property
    def pairs(self) -> int:
        return sum(len(pairs) for pairs in self.rows.values())

    def document(
        self,
        source: str,
        changes: list[PairedChange],
        choice: MetricChoice,
        settings: dict[str, Any],
    ) -> dict[str, Any]:
        """The JSON report: the verdicts, what was compared and how, and what was left out."""
        from datetime import datetime

        return {
            "kind": "against",
            "source": source,
            "created": datetime.now().isoformat(timespec="seconds"),
            "revision": self.revision,
            "commit": self.commit,
            "described": self.described,
            "metric": choice.metric,
            "metric_reason": choice.reason,
            "test": (
                "student's t of the rounds' median log(B / A), benjamini-hochberg across views"
            ),
            "alpha": settings["alpha"],
            "min_change": settings["min_change"],
            "pairs": self.pairs,
            "warmup": self.warmup,
            "rounds": self.rounds,
            "skipped": self.skipped,
            "round_pairs": self.round_pairs,
            "verdicts": [_finite(dataclasses.asdict(change)) for change in changes],
            "replay": self.stats.to_dict(),
            "conditions": self.conditions,
        }


def replay_against(
    open_source: Callable[[], Source],
    options: ReplayOptions,
    revision: str,
    progress: Progress | None = None,
    warmup: int = WARMUP,
    round_pairs: int = ROUND,
) -> AgainstReplay:
    """Replay the requests of ``open_source()`` in pairs on the git ``revision`` of the project
    (A) and on this tree (B). Bad input raises
    :class:`~django_profilecmds.exceptions.ProfileCmdsError`."""
    from django_profilecmds.analysis.conditions import load_average, machine_conditions
    from django_profilecmds.replay.engine import check_replay_host
    from django_profilecmds.replay.revisions import (
        checked_out,
        project_repository,
        resolve_revision,
        short_description,
    )

    if options.workers != 1:
        raise ProfileCmdsError("--against replays in two processes of its own: drop --workers.")
    if options.group_by == "template":
        raise ProfileCmdsError(
            "--against groups by view or path prefix: the two revisions' templates may differ."
        )
    check_replay_host(options.host)
    if options.user is not None:
        from django_profilecmds.users import resolve_user

        resolve_user(options.user)
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE")
    if not settings_module:
        raise ProfileCmdsError(
            "--against starts each revision with the settings module named by "
            "DJANGO_SETTINGS_MODULE, and it is not set."
        )
    repository = project_repository()
    commit = resolve_revision(repository, revision)
    result = AgainstReplay(revision, commit, short_description(repository, commit))
    result.round_pairs = round_pairs
    result.stats = ReplayStats(group_by=options.group_by, path_segments=options.path_segments)
    choose = RequestFilter(options, result.stats)
    load_start = load_average()
    with checked_out(repository, commit) as tree:
        sides = (
            _Side(
                "A",
                _worker_config(options, (repository, tree)),
                _moved(Path.cwd(), repository, tree),
            ),
            _Side("B", _worker_config(options, None), Path.cwd()),
        )
        _run_rounds(choose, open_source(), sides, result, (warmup, round_pairs), progress)
    if progress is not None:
        progress(choose.read)
    result.stats.read = choose.read
    result.conditions = machine_conditions(load_start, load_average())
    return result


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    """NaN (an untested row's p-value) as null: JSON has no NaN."""
    return {
        key: None if isinstance(value, float) and math.isnan(value) else value
        for key, value in values.items()
    }


@dataclass(frozen=True)
class _Side:
    """How one side's processes are started."""

    label: str
    config: dict[str, Any]
    cwd: Path


def _run_rounds(
    choose: RequestFilter,
    source: Source,
    sides: tuple[_Side, _Side],
    result: AgainstReplay,
    sizes: tuple[int, int],  # warm-up requests, pairs per round
    progress: Progress | None,
) -> None:
    from django_profilecmds.analysis.grouping import request_group, row_name

    warmup, round_pairs = sizes
    options = choose.options
    waiting: dict[str, list[Any]] = {}  # per row, the requests of its next round
    sent: dict[str, int] = {}  # pairs sent per row, over all rounds
    turns: dict[str, int] = {}  # rounds sent per row
    for item in choose.requests(source, progress):
        path = choose.masked_path(item.request.path, item.match)
        group = request_group(options.group_by, path, None, options.path_segments)
        key = row_name(view_key(item.match), group)
        batch = waiting.setdefault(key, [])
        batch.append(item)
        if len(batch) >= round_pairs:
            _send_round(key, waiting.pop(key), sides, result, (warmup, sent, turns))
    for key, batch in waiting.items():
        _send_round(key, batch, sides, result, (warmup, sent, turns))


def _send_round(
    key: str,
    batch: list[Any],
    sides: tuple[_Side, _Side],
    result: AgainstReplay,
    counts: tuple[int, dict[str, int], dict[str, int]],  # warm-up; pairs, rounds sent per row
) -> None:
    """One round: a new process on each side, warmed up with the first of ``batch``; then
    every request of ``batch`` to both, the side that goes first alternating."""
    warmup, sent, turns = counts
    number = result.rounds
    result.rounds += 1
    turn = turns[key] = turns.get(key, -1) + 1
    # The row's turn, not the round's number: rows whose rounds alternate would otherwise
    # each keep one CPU, and one side launched first, throughout.
    with _started(sides, turn) as workers:
        first = batch[:warmup]
        result.warmup = max(result.warmup, len(first))
        for item in first:
            for worker in workers:
                worker.replay(item.request)
        for item in batch:
            # A first in one pair of the row, B first in the next, over all its rounds.
            count = sent[key] = sent.get(key, 0) + 1
            order = workers if count % 2 else (workers[1], workers[0])
            answers = {worker.label: worker.replay(item.request) for worker in order}
            a, b = answers["A"], answers["B"]
            if a is None or b is None:
                result.skipped += 1
                continue
            result.rows.setdefault(key, []).append((a, b))
            result.round_of.setdefault(key, []).append(number)


@contextlib.contextmanager
def _started(sides: tuple[_Side, _Side], turn: int) -> Iterator[tuple[_Worker, _Worker]]:
    """A new process for each side, both starting at once (B's launched first on odd turns),
    ready and sharing the turn's CPU when this yields; both ended after."""
    with contextlib.ExitStack() as stack:
        order = (sides[1], sides[0]) if turn % 2 else sides
        started = {side.label: stack.enter_context(_Worker.start(side)) for side in order}
        for worker in started.values():
            worker.wait_ready()
        _share_a_cpu(started.values(), turn)
        yield started["A"], started["B"]


def _share_a_cpu(workers: Iterable[_Worker], turn: int) -> None:
    """Both sides on the same CPU, the next CPU on a view's next turn. Two CPUs
    of one machine differ in speed from moment to moment (a virtual machine's all the more):
    with a side on each, the two sides' speed ratio was the CPUs', and an unchanged view's
    rounds came out up to 35% apart; on one CPU, taking turns, they were within 5%. The
    machine's other work mostly runs on the other CPUs meanwhile, and the rounds' turn through
    every CPU leaves none its favourite."""
    if not hasattr(os, "sched_setaffinity"):  # macOS and Windows: the scheduler chooses
        return
    cpus = sorted(os.sched_getaffinity(0))
    for worker in workers:
        with contextlib.suppress(OSError):  # it ended already: the round says why
            os.sched_setaffinity(worker.process.pid, {cpus[turn % len(cpus)]})


def _worker_config(options: ReplayOptions, moved: tuple[Path, Path] | None) -> dict[str, Any]:
    """What a worker is started with: its path (this process's, or with the repository's
    entries moved into the other tree), the databases' names, the replay's options."""
    from django.db import connections

    path = [str(Path(entry or ".").resolve()) for entry in sys.path]
    if moved is not None:
        path = [str(_moved(Path(entry), *moved)) for entry in path]
    return {
        "path": path,
        "databases": {
            alias: str(connections[alias].settings_dict["NAME"]) for alias in connections
        },
        "options": {
            "user": options.user,
            "host": options.host,
            "include_unsafe": options.include_unsafe,
            "nplusone_threshold": options.nplusone_threshold,
            "capture_email": options.capture_email,
            "isolate_cache": options.isolate_cache,
        },
    }


def _moved(path: Path, repository: Path, tree: Path) -> Path:
    """``path`` inside the other tree when it is inside the repository."""
    try:
        relative = path.resolve().relative_to(repository.resolve())
    except ValueError:
        return path
    return tree / relative


class _Worker:
    """One side's process, and the protocol to it (see :mod:`.revisionworker`)."""

    def __init__(self, label: str, process: subprocess.Popen[str], stderr: IO[bytes]) -> None:
        self.label = label
        self.process = process
        self.stderr = stderr

    @classmethod
    @contextlib.contextmanager
    def start(cls, side: _Side) -> Iterator[_Worker]:
        """The side's new process, launched (:meth:`wait_ready` waits for it); ended on
        leaving."""
        from django_profilecmds.replay.revisionworker import BOOT

        stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        process = subprocess.Popen(
            [sys.executable, "-c", BOOT, json.dumps(side.config)],
            cwd=side.cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
            # The same string hashes on both sides: dict and set layouts, and their speed, alike.
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        worker = cls(side.label, process, stderr)
        try:
            yield worker
        finally:
            worker.close()

    def wait_ready(self) -> None:
        """Until the worker has set Django up and entered its sandbox (raises if it failed)."""
        self._read()

    def replay(self, request: ReplayRequest) -> RequestTiming | None:
        """Send one request; its cost, or None when the worker did not replay it."""
        assert self.process.stdin is not None
        with contextlib.suppress(OSError):  # it ended: _read says why
            self.process.stdin.write(json.dumps({"request": dataclasses.asdict(request)}) + "\n")
            self.process.stdin.flush()
        answer = self._read()
        if answer.get("skipped"):
            return None
        return RequestTiming(
            wall=answer["wall"],
            cpu=answer["cpu"],
            db=answer["db"],
            status=answer["status"],
            error=answer["error"],
        )

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        answer: dict[str, Any] = json.loads(line) if line.strip() else {}
        if "failure" in answer or not answer:
            reason = answer.get("failure") or f"it ended (exit status {self.process.wait()})"
            raise ProfileCmdsError(
                f"The replay of side {self.label} failed: {reason}{self._stderr_tail()}"
            )
        return answer

    def _stderr_tail(self) -> str:
        self.stderr.seek(0)
        text = self.stderr.read().decode("utf-8", "replace").strip()[-STDERR_TAIL:]
        return f"\nIts stderr ended with:\n{text}" if text else ""

    def close(self) -> None:
        """End the process: its stdin closed, it leaves its sandbox (all rolled back)."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr.close()
