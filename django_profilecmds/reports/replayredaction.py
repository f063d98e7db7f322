"""A replay's document made safe to save and report, with its rows' figures intact.

The redactor masks every value under a key named like a credential: right for a request's
fields, wrong for the maps of a replay that are keyed by data, where a view named
``password-reset``, a row ``api · /api/`` or an N+1 in ``get_token`` would have all its figures
masked (and a baseline that ``--compare`` then rejects). Those maps are handed to the redactor
as lists of ``[key, value]`` pairs, so that their keys are masked as the text they are (secrets
in them, by value and format) and their values as what they hold, then made maps again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django_profilecmds.reports.redact import Redactor

# Where the maps keyed by data are, from the document's top: "*" is every value of a map.
DATA_KEYED: tuple[tuple[str, ...], ...] = (
    ("entries",),
    ("replay", "views"),
    ("replay", "views", "*", "nplusone"),
    ("replay", "views", "*", "statuses"),
    ("replay", "views", "*", "methods"),
    ("replay", "client_statuses"),
    ("replay", "not_found"),
    ("replay", "not_found_examples"),
    ("replay", "skipped_methods"),
    ("replay", "unknown_users"),
)


def redact_replay_document(redactor: Redactor, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (the samples document of a replay) masked by ``redactor``."""
    paired = _convert(document, _pairs)
    return _convert(redactor.data(paired), _map)


def _convert(document: dict[str, Any], convert: Callable[[Any], Any]) -> dict[str, Any]:
    """A copy of ``document`` with the maps at ``DATA_KEYED`` converted, the outer ones last
    (pairs of the inner ones are reached through the outer map, which is still a map)."""
    document = dict(document)
    for path in sorted(DATA_KEYED, key=len, reverse=convert is _pairs):
        _apply(document, path, convert)
    return document


def _apply(node: Any, path: tuple[str, ...], convert: Callable[[Any], Any]) -> None:
    if not isinstance(node, dict):
        return
    head, rest = path[0], path[1:]
    keys = list(node) if head == "*" else [head] if head in node else []
    for key in keys:
        if rest:
            node[key] = dict(node[key]) if isinstance(node[key], dict) else node[key]
            _apply(node[key], rest, convert)
        else:
            node[key] = convert(node[key])


def _pairs(value: Any) -> Any:
    return [[key, item] for key, item in value.items()] if isinstance(value, dict) else value


def _map(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(p, list) and len(p) == 2 for p in value):
        return dict(value)
    return value
