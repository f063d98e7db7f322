"""One profiling session: the output directory checked, the spec run, compared with a baseline
and saved, and the report files written. What ``profile_view``, ``profile_call``,
``profile_command``, ``lineprof`` and ``profile_request()`` all do with a spec.

Nothing here prints; bad input raises :class:`~django_profilecmds.exceptions.ProfileCmdsError`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django_profilecmds.analysis.compare import DEFAULT_ALPHA, DEFAULT_MIN_CHANGE

if TYPE_CHECKING:
    from django_profilecmds.analysis.compare import Change
    from django_profilecmds.result import RunResult
    from django_profilecmds.spec import RunSpec


@dataclass(frozen=True)
class Baseline:
    """A file written by ``--save``, read before anything runs, and how to compare with it."""

    path: str  # as given, for the reports
    document: dict[str, Any]
    alpha: float = DEFAULT_ALPHA
    min_change: float = DEFAULT_MIN_CHANGE
    metric: str = "wall"  # of the verdict: "wall" or "cpu" (see analysis.metrics)
    metric_reason: str = ""  # why that metric, for the reports

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        alpha: float = DEFAULT_ALPHA,
        min_change: float = DEFAULT_MIN_CHANGE,
        metric: str | None = "wall",
    ) -> Baseline:
        """Check ``alpha`` and ``min_change`` and read ``path``: a clear error for anything
        that is not a file ``--save`` wrote. ``metric`` is that of the verdicts, ``wall`` or
        ``cpu``; None chooses (see :func:`~django_profilecmds.analysis.metrics.choose_metric`:
        CPU time when every database is SQLite and the baseline holds CPU times)."""
        from django_profilecmds.analysis import compare
        from django_profilecmds.analysis.metrics import choose_metric

        compare.check_alpha(alpha, min_change)
        document = compare.load_samples(Path(path))
        choice = choose_metric(metric, document)
        return cls(str(path), document, alpha, min_change, choice.metric, choice.reason)

    def describe_metric(self) -> str:
        """``verdict on CPU time (every database is SQLite, whose queries run in this thread;
        --metric wall to use wall time)``."""
        from django_profilecmds.analysis.metrics import MetricChoice

        return MetricChoice(self.metric, self.metric_reason).describe()

    def compare(self, document: dict[str, Any]) -> list[Change]:
        """The verdict for each key of ``document`` (see ``compare.samples_document``)."""
        from django_profilecmds.analysis import compare

        return compare.compare(self.document, document, self.alpha, self.min_change, self.metric)

    def unavailable(self) -> list[str]:
        """The metrics the baseline has no samples of (saved before they were kept)."""
        from django_profilecmds.analysis.metrics import missing_metrics

        return missing_metrics(self.document)

    def settings(self) -> dict[str, Any]:
        """What the reports say about how the comparison was made."""
        return {
            "alpha": self.alpha,
            "min_change": self.min_change,
            "min_change_pct": 100 * self.min_change,
            "baseline": self.path,
            "baseline_commit": self.document.get("git_commit", ""),
            "baseline_created": self.document.get("created", ""),
            "metric": self.metric,
            "metric_reason": self.metric_reason,
            "unavailable_metrics": self.unavailable(),
        }


def profile(
    spec: RunSpec,
    *,
    output_dir: str | os.PathLike[str] | None = None,
    speedscope: bool = False,
    save: str | os.PathLike[str] | None = None,
    baseline: Baseline | None = None,
    on_secrets: Callable[[list[str]], None] | None = None,
) -> RunResult:
    """Run ``spec`` and return its result, with the files written in ``result.files``.

    ``output_dir`` is created (0700) and checked before anything runs, and receives the report
    files (``speedscope`` adds the samples in time order as speedscope JSON). With ``baseline``
    the result carries the comparison (``result.comparison``); ``save`` writes the timing
    samples, masked, for a later comparison. ``on_secrets`` is told the values to mask as soon
    as they are known: those the spec sends, before the run, and all of the run's after it.
    """
    from django_profilecmds.runner import run

    directory = None
    if output_dir is not None:
        from django_profilecmds.reports.files import prepare_output_dir

        directory = prepare_output_dir(output_dir)
    if on_secrets is not None:
        from django_profilecmds.reports.runredaction import spec_secrets

        # Known before it runs: what the code prints while it runs can be masked too.
        on_secrets(spec_secrets(spec))
    result = run(spec)
    if on_secrets is not None:
        on_secrets(result.secrets)
    if save is not None or baseline is not None:
        _compare_and_save(result, save, baseline)
    if directory is not None:
        from django_profilecmds.reports.files import write_reports

        write_reports(result, directory, speedscope=speedscope)
    return result


def _compare_and_save(
    result: RunResult, save: str | os.PathLike[str] | None, baseline: Baseline | None
) -> None:
    import dataclasses

    from django_profilecmds.analysis import compare

    document = compare.samples_document(
        "profile_view", result.spec.title.split("?", 1)[0], compare.run_entries(result)
    )
    if baseline is not None:
        result.comparison = [dataclasses.asdict(change) for change in baseline.compare(document)]
        result.comparison_settings = baseline.settings()
    if save is not None:
        from django_profilecmds.reports.replayredaction import redact_replay_document
        from django_profilecmds.reports.runredaction import redactor_for

        # The file is shared to compare with later: masked like every file written.
        safe = redact_replay_document(redactor_for(result), document)
        result.files["samples"] = compare.save_samples(Path(save), safe)
