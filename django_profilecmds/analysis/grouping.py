"""How a replay groups its requests into rows: by view (one row per URL pattern's view), or by
the view and what tells its requests apart when one view serves many kinds of page (a CMS's
catch-all URL): the template each request rendered, or the first segments of its path.

A row is named ``view · group`` (``wagtail_serve · blog/blog_page.html``,
``wagtail_serve · /blog/``), or the view alone when grouped by view. Saved baselines record how
they were grouped: rows of two groupings are not the same rows, so they are not compared.
"""

from __future__ import annotations

from typing import Any, Literal

GROUP_BY = ("view", "template", "path-prefix")
GroupBy = Literal["view", "template", "path-prefix"]
NO_TEMPLATE = "(no template)"  # the group of a request that rendered none
SEPARATOR = " · "


def row_name(view: str, group: str | None) -> str:
    """``view · group``, or ``view`` when there is no group (grouped by view)."""
    return view if group is None else f"{view}{SEPARATOR}{group}"


def path_prefix(path: str, segments: int = 1) -> str:
    """The first ``segments`` segments of ``path``, without its query string:
    ``/wp-admin/setup.php?x`` -> ``/wp-admin/``; ``/favicon.ico`` -> ``/favicon.ico``;
    ``/blog/2024/post/`` with 2 segments -> ``/blog/2024/``."""
    parts = path.split("?", 1)[0].lstrip("/").split("/")
    prefix = "/" + "/".join(parts[:segments])
    return prefix + "/" if len(parts) > segments else prefix


def request_group(
    group_by: GroupBy, path: str, template: str | None, segments: int = 1
) -> str | None:
    """The group of one request: None by view, else its template or its path's prefix."""
    if group_by == "template":
        return template or NO_TEMPLATE
    if group_by == "path-prefix":
        return path_prefix(path, segments)
    return None


def describe_grouping(group_by: str, segments: int = 1) -> str:
    """``view``, ``template``, ``path prefix of 2 segments``: what the rows are."""
    if group_by == "path-prefix":
        return f"path prefix of {segments} segment{'' if segments == 1 else 's'}"
    return group_by


def column_title(group_by: str) -> str:
    """The ranking's column of row names: ``view``, ``view · template``..."""
    if group_by == "view":
        return "view"
    return row_name("view", "template" if group_by == "template" else "path prefix")


def check_baseline_grouping(
    document: dict[str, Any], path: str, group_by: str, segments: int
) -> None:
    """Fail when the replay saved in ``document`` (at ``path``) grouped its requests otherwise
    than this replay does: its rows are not this replay's, and every one of them would be
    "not in this run". A baseline saved before grouping existed grouped by view; one that is not
    a replay's (``profile_view --save``) has no rows of views, and is compared as it is."""
    from django_profilecmds.exceptions import InvalidOption

    if document.get("kind") != "replay":
        return
    saved = document.get("replay")
    saved = saved if isinstance(saved, dict) else {}
    saved_by = saved.get("group_by", "view")
    saved_segments = saved.get("path_segments", 1)
    if saved_by not in GROUP_BY or not isinstance(saved_segments, int) or saved_segments < 1:
        raise InvalidOption(
            f"--compare: {path} records a grouping this version does not know "
            f"({str(saved_by)[:40]!r}); save a new baseline."
        )
    same_segments = group_by != "path-prefix" or saved_segments == segments
    if saved_by == group_by and same_segments:
        return
    fix = f"--group-by {saved_by}"
    if saved_by == "path-prefix":
        fix += f" --path-segments {saved_segments}"
    raise InvalidOption(
        f"--compare: {path} groups requests by {describe_grouping(saved_by, saved_segments)}, "
        f"and this replay by {describe_grouping(group_by, segments)}: pass {fix} to compare "
        "with it, or save a new baseline."
    )
