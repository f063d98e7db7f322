from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("nplusone/row.html")
def novel_row(novel: Any) -> dict[str, Any]:
    return {"novel": novel}
