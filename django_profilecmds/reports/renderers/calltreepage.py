"""``.pyinstrument.html``: pyinstrument's own page of the call tree, alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django_profilecmds.reports.renderers.base import Renderer, RunReport

if TYPE_CHECKING:
    from django_profilecmds.result import RunResult


class CallTreePageRenderer(Renderer):
    name = "pyinstrument"
    extension = ".pyinstrument.html"

    def applies(self, result: RunResult) -> bool:
        return result.calltree is not None

    def render(self, report: RunReport) -> str:
        page = report.calltree_page
        assert page is not None  # applies() said there is a call tree
        return page
