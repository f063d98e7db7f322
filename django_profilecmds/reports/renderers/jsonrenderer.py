"""``.json``: the run's result (``RunResult.to_dict()``, masked), led by its row of the index;
``RunResult.from_dict()`` reads it back."""

from __future__ import annotations

import json

from django_profilecmds.reports.renderers.base import Renderer, RunReport


class JsonRenderer(Renderer):
    name = "json"
    extension = ".json"

    def render(self, report: RunReport) -> str:
        from django_profilecmds.reports.html import index_row

        document = report.document
        # The index row first, where render_index reads it without parsing the whole file.
        # Compact: indent would switch json to its pure-Python encoder, several times slower.
        return json.dumps({"index_row": index_row(document), **document}) + "\n"
