"""What every renderer of a run's report files is: :class:`Renderer`, one small class per file
format, and :class:`RunReport`, the run as they read it (what several files share is made once
there: the redacted document, pyinstrument's page)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from pyinstrument.session import Session

    from django_profilecmds.reports.redact import Redactor
    from django_profilecmds.reports.safewrite import Content
    from django_profilecmds.result import RunResult


class Renderer:
    """One report file of a run, as pyinstrument's ``Renderer`` is one output of a session.

    ``name`` is its key in the registry and among the paths written (``"sql"``) and
    ``extension`` ends the file's name (``".sql.txt"``). ``render`` gives the file's content:
    text, bytes, or a function that writes a binary file (``.prof``, ``.lprof``). It never
    prints and never writes: ``reports.files`` decides where the file goes.
    """

    name: ClassVar[str]
    extension: ClassVar[str]
    by_default: ClassVar[bool] = True  # False: written only when asked for (speedscope)

    def applies(self, result: RunResult) -> bool:
        """Whether ``result`` has what this file is drawn from (a ``.prof`` needs cProfile)."""
        return True

    def render(self, report: RunReport) -> Content:
        raise NotImplementedError()


@dataclass
class RunReport:
    """One run as its renderers read it: the result, masked on the way out by its redactor."""

    result: RunResult
    files: dict[str, Path] = field(default_factory=dict)  # every file of the run, for the JSON
    redactor: Redactor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from django_profilecmds.reports.runredaction import redactor_for

        self.redactor = redactor_for(self.result)

    @cached_property
    def title(self) -> str:
        """The run's title, masked: a token in the path itself is no file name."""
        return self.redactor.text(self.result.spec.title)

    @cached_property
    def document(self) -> dict[str, Any]:
        """``result.to_dict()`` listing the run's files, safe to write: the JSON file and what
        the HTML report shows."""
        from django_profilecmds.reports.runredaction import redact_result

        data = self.result.to_dict()
        data["files"] = {kind: str(path) for kind, path in self.files.items()}
        return redact_result(data, self.redactor)

    @cached_property
    def session(self) -> Session | None:
        """pyinstrument's session, which shows the title atop its pages: the masked one."""
        session = self.result.calltree
        if session is not None:
            session.target_description = self.title.split("?", 1)[0]
        return session

    @cached_property
    def calltree_page(self) -> str | None:
        """pyinstrument's page of the call tree, drawn from the samples merged by call path
        (see ``merge_call_paths``), frame names masked, and opening with no network: a file
        of its own and the HTML report's call tree."""
        if self.session is None:
            return None
        from pyinstrument.renderers import HTMLRenderer

        from django_profilecmds.collectors.calltree import masked_frames, merge_call_paths

        merged = masked_frames(merge_call_paths(self.session), self.redactor.known)
        return offline(HTMLRenderer().render(merged))


def offline(page: str) -> str:
    """pyinstrument's page loads web fonts from Google; reports must open with no network at
    all, so those addresses become empty inline stylesheets (the page falls back to local fonts).
    """
    return re.sub(r"https://fonts\.(?:googleapis|gstatic)\.com[^\"'\s)]*", "data:text/css,", page)
