"""``.speedscope.json``: the samples in time order, for https://www.speedscope.app. Written only
when asked for: on a long run it takes seconds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django_profilecmds.reports.renderers.base import Renderer, RunReport

if TYPE_CHECKING:
    from django_profilecmds.result import RunResult


class SpeedscopeRenderer(Renderer):
    name = "speedscope"
    extension = ".speedscope.json"
    by_default = False

    def applies(self, result: RunResult) -> bool:
        return result.calltree is not None

    def render(self, report: RunReport) -> str:
        from pyinstrument.renderers import SpeedscopeRenderer as PyinstrumentSpeedscope

        from django_profilecmds.collectors.calltree import masked_frames

        assert report.session is not None  # applies() said there is a call tree
        # The timeline keeps the harness's samples: without them, runs one after another
        # would read as one long call of the view.
        timeline_of = report.result.artefacts.timeline
        timeline = (timeline_of() if timeline_of else None) or report.session
        timeline.target_description = report.session.target_description  # the masked title
        session = masked_frames(timeline, report.redactor.known)
        text: str = PyinstrumentSpeedscope().render(session)  # pyinstrument leaves it untyped
        return text
