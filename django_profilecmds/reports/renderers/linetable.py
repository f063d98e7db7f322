"""``.lines.txt``: the per-line tables lineprof prints, with the SQL each line ran."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django_profilecmds.reports.renderers.base import Renderer, RunReport

if TYPE_CHECKING:
    from django_profilecmds.result import RunResult


class LineTableRenderer(Renderer):
    name = "lines"
    extension = ".lines.txt"

    def applies(self, result: RunResult) -> bool:
        return result.line_stats is not None

    def render(self, report: RunReport) -> str:
        from django_profilecmds.reports.linetext import render_lines

        # Source lines may hold a literal key.
        return report.redactor.text(render_lines(report.result))
