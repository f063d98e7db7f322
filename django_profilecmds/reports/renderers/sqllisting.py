"""``.sql.txt``: every query in order, with its parameters (masked), timing and origin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django_profilecmds.reports.renderers.base import Renderer, RunReport

if TYPE_CHECKING:
    from django_profilecmds.result import RunResult


class SqlListingRenderer(Renderer):
    name = "sql"
    extension = ".sql.txt"

    def applies(self, result: RunResult) -> bool:
        return bool(result.queries)

    def render(self, report: RunReport) -> str:
        from django_profilecmds.reports.sqltext import render_sql_file

        return render_sql_file(report.result, report.redactor)
