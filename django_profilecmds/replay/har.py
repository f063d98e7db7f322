"""HAR files (a browser's or a proxy's export): one JSON document, its ``log.entries``.

The document is read whole, once, up to a size limit (uncompressed: a gzip file may expand a
thousandfold); each entry's request gives the method, the URL, the headers and the body.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from django_profilecmds.limits import InputTooLarge, read_limited
from django_profilecmds.replay.peeking import ENCODING, Peeked
from django_profilecmds.replay.recorded import (
    ReplayRequest,
    Skip,
    SourceError,
    checked_method,
    checked_request,
    json_type,
    kept_headers,
    request_path,
)


def read_entries(path: Path, opened: Peeked, limit: int) -> list[Any]:
    """The entries of the HAR file ``path``, opened: one JSON document, so read whole, but
    never more than ``limit`` bytes of it."""
    try:
        with opened.content as content:
            data = read_limited(content, limit)
    except InputTooLarge as exc:
        raise SourceError(
            f"{path} is {exc} (uncompressed), the most read of a HAR file, which is one JSON "
            "document loaded whole: export fewer requests, or convert them to JSON lines, "
            "which are read one line at a time."
        ) from None
    except OSError as exc:
        raise SourceError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    except (EOFError, zlib.error) as exc:
        raise SourceError(f"Cannot read {path}: broken gzip data ({exc}).") from None
    text = data.decode(ENCODING, errors="replace")
    del data  # not held while the document is parsed
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"{path} is not a HAR file: invalid JSON at line {exc.lineno}, column {exc.colno} "
            f"({exc.msg})."
        ) from None
    except RecursionError:
        raise SourceError(f"{path} is not a HAR file: its JSON is nested too deeply.") from None
    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise SourceError(f"{path} is not a HAR file (no log.entries list in a JSON document).")
    return entries


def parse_entry(entry: Any, number: int) -> ReplayRequest:
    """The request of entry ``number``; :class:`.recorded.Skip` if it is none."""
    request = entry.get("request") if isinstance(entry, dict) else None
    if not isinstance(request, dict):
        raise Skip("entry without a request object")
    url, method = request.get("url"), request.get("method")
    if not isinstance(url, str) or not url:
        raise Skip("request without a url")
    if not isinstance(method, str) or not method:
        raise Skip("request without a method")
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise Skip(f"not an HTTP URL: {url[:60]}")
    headers = kept_headers(_har_pairs(request, "headers"))
    # Neither is replayed (the url holds the query, recorded cookies are dropped), but an
    # entry with either malformed is as suspect as one with malformed headers.
    _har_pairs(request, "queryString")
    _har_pairs(request, "cookies")
    body = None
    post = request.get("postData")
    if post is not None:
        if not isinstance(post, dict):
            raise Skip(f'"postData" is {json_type(post)}, not an object')
        body = _har_body(post)
        mime = _har_string(post, "mimeType", "postData")
        if mime and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = mime
    return checked_request(checked_method(method), request_path(url), headers, body, None, number)


def _har_pairs(owner: dict[str, Any], key: str, label: str | None = None) -> list[tuple[str, str]]:
    """The ``{"name": ..., "value": ...}`` objects of ``owner[key]``, as pairs.

    Skips the entry, saying where, when they are not an array of such objects with string
    names and values; the reason never holds a recorded value (it may be a secret).
    """
    label = label or key
    items = owner.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise Skip(f'"{label}" is {json_type(items)}, not an array')
    pairs = []
    for index, item in enumerate(items, start=1):
        where = f'"{label}" item {index}'
        if not isinstance(item, dict):
            raise Skip(f"{where} is {json_type(item)}, not an object")
        name, value = item.get("name"), item.get("value", "")
        if not isinstance(name, str):
            raise Skip(f'{where} has a "name" that is {json_type(name)}, not a string')
        if not isinstance(value, str):
            raise Skip(f'{where} has a "value" that is {json_type(value)}, not a string')
        pairs.append((name, value))
    return pairs


def _har_string(owner: dict[str, Any], key: str, label: str) -> str | None:
    value = owner.get(key)
    if value is not None and not isinstance(value, str):
        raise Skip(f'"{label}.{key}" is {json_type(value)}, not a string')
    return value


def _har_body(post: dict[str, Any]) -> str | None:
    """``postData.text``; else its ``params`` as a form (some exporters give only those)."""
    text = _har_string(post, "text", "postData")
    params = _har_pairs(post, "params", "postData.params")
    if text is not None:
        return text
    return urlencode(params) if params else None
