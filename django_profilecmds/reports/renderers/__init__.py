"""The renderers of a run's report files, one module per format, chosen by name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django_profilecmds.exceptions import UnknownRenderer
from django_profilecmds.reports.renderers.base import Renderer, RunReport
from django_profilecmds.reports.renderers.calltreepage import CallTreePageRenderer
from django_profilecmds.reports.renderers.htmlreport import HtmlReportRenderer
from django_profilecmds.reports.renderers.jsonrenderer import JsonRenderer
from django_profilecmds.reports.renderers.linetable import LineTableRenderer
from django_profilecmds.reports.renderers.lprof import LineStatsRenderer
from django_profilecmds.reports.renderers.prof import FunctionStatsRenderer
from django_profilecmds.reports.renderers.speedscope import SpeedscopeRenderer
from django_profilecmds.reports.renderers.sqllisting import SqlListingRenderer

if TYPE_CHECKING:
    from django_profilecmds.result import RunResult

__all__ = ["RENDERERS", "Renderer", "RunReport", "get_renderer", "renderers_for"]

#: Every renderer by name, in the order a run's files are written. The HTML report comes before
#: the JSON: once the JSON is complete, the index of another run links to the report.
RENDERERS: dict[str, type[Renderer]] = {
    renderer.name: renderer
    for renderer in (
        CallTreePageRenderer,
        SpeedscopeRenderer,
        FunctionStatsRenderer,
        LineStatsRenderer,
        LineTableRenderer,
        SqlListingRenderer,
        HtmlReportRenderer,
        JsonRenderer,
    )
}


def get_renderer(name: str) -> Renderer:
    """The renderer called ``name`` (``"sql"``); :class:`UnknownRenderer` lists the others."""
    try:
        return RENDERERS[name]()
    except KeyError:
        raise UnknownRenderer(
            f"Unknown renderer {name!r}; choose from {', '.join(RENDERERS)}."
        ) from None


def renderers_for(result: RunResult, also: Iterable[str] = ()) -> list[Renderer]:
    """The renderers of the files ``result`` has, in writing order: those written by default,
    and those named in ``also`` (``"speedscope"``), where the run has what they draw."""
    asked = {get_renderer(name).name for name in also}
    chosen = (renderer() for renderer in RENDERERS.values())
    return [r for r in chosen if (r.by_default or r.name in asked) and r.applies(result)]
