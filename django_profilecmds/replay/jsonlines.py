"""JSON lines: one JSON object per line, with ``path`` and optionally ``method``, ``headers``,
``body`` (a string, or an object or array sent as JSON) and ``user`` (who sends the request)."""

from __future__ import annotations

import json
from typing import Any

from django_profilecmds.replay.recorded import (
    ReplayRequest,
    Skip,
    checked_method,
    checked_request,
    json_type,
    kept_headers,
    request_path,
)


def json_object(text: str) -> dict[str, Any]:
    """The JSON object a line holds; :class:`.recorded.Skip` if it holds none."""
    try:
        data = json.loads(text.rstrip("\r\n"))
    except ValueError as exc:
        raise Skip(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise Skip("invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise Skip(f"{json_type(data)}, not a JSON object")
    return data


def parse_line(text: str, number: int) -> ReplayRequest:
    """The request on line ``number``; :class:`.recorded.Skip` if it is none."""
    data = json_object(text)
    path = data.get("path")
    if path is None:
        raise Skip('no "path"')
    if not isinstance(path, str):
        raise Skip(f'"path" is {json_type(path)}, not a string')
    method = data.get("method")
    headers = _json_headers(data.get("headers"))
    body = data.get("body")
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    elif body is not None and not isinstance(body, str):
        raise Skip(f'"body" is {json_type(body)}, not a string, object or array')
    user = data.get("user")
    if isinstance(user, bool) or not isinstance(user, (str, int, type(None))):
        raise Skip(f'"user" is {json_type(user)}, not a string or an integer')
    return checked_request(
        "GET" if method is None else checked_method(method),
        request_path(path),
        headers,
        body,
        None if user is None else str(user),
        number,
    )


def _json_headers(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Skip(f'"headers" is {json_type(value)}, not an object')
    pairs = []
    for name, given in value.items():
        if isinstance(given, bool) or not isinstance(given, (str, int, float)):
            raise Skip(f"header {name!r} is {json_type(given)}, not a string")
        pairs.append((name, str(given)))
    return kept_headers(pairs)
