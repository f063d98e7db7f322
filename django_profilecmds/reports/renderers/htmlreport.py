"""``.html``: the one-page report, with pyinstrument's call tree in it."""

from __future__ import annotations

from django_profilecmds.reports.renderers.base import Renderer, RunReport


class HtmlReportRenderer(Renderer):
    name = "html"
    extension = ".html"

    def render(self, report: RunReport) -> str:
        from django_profilecmds.reports.html import render_report

        return render_report(
            report.result, report.document, report.calltree_page, report.redactor.text
        )
