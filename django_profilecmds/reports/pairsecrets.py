"""Which values of a text are secrets by the name they are given: the pairs whose name is
sensitive, found by patterns (whichever way the name is written, :mod:`.secrets` says whether
it is sensitive).

``name=value`` (query strings, form bodies, cookies, command arguments, also percent-encoded
inside another value), ``"name": "value"`` and ``'NAME': 'value'`` pairs, ``name: value`` in a
message or a header line, multipart form fields, PostgreSQL's ``Key (name)=(value)``, HAR
``{"name": ..., "value": ...}`` headers, and the form fields of a rendered page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote

# A form field with a sensitive name, in a rendered page (also inside a JSON string): the
# CSRF token's hidden input, <input name="api_token" value="...">, a <textarea>'s content.
FORM_FIELD = re.compile(
    r"""<(?:input|textarea)\b[^>]*?\bname=(?P<q1>\\?["'])(?P<n1>[^"'\\]{1,100})(?P=q1)"""
    r"""(?:[^>]*?\bvalue=(?P<q2>\\?["'])(?P<v1>[^"'\\]*)|[^>]*>(?P<v2>[^<]*)</textarea)"""
    r"""|<input\b[^>]*?\bvalue=(?P<q3>\\?["'])(?P<v3>[^"'\\]*)(?P=q3)"""
    r"""[^>]*?\bname=(?P<q4>\\?["'])(?P<n2>[^"'\\]{1,100})(?P=q4)"""
)
# name=value: query strings, form bodies, cookies, --api-key=..., key=... in a message; the
# name may be percent-encoded (p%61ssword).
UNQUOTED = re.compile(
    r"(?<![\w.\-\[\]%])(?P<n1>[\w.\-\[\]%]{1,100})=(?!%s|%\()(?P<v1>[^&;\s\"'\\<>]+)"
)
# The same percent-encoded inside another value: next=%2Fx%3Fapi_key%3DVALUE%26page%3D2.
ENCODED = re.compile(
    r"(?<![\w.\-])(?P<n1>[\w.\-]{1,100})%3[Dd]"
    r"(?P<v1>(?:[^&%\s\"'\\<>]|%(?!26|3[Bb]|23)[0-9A-Fa-f]{2})+)"
)
# "name": "value", 'NAME': 'value', name = 'value', name: str = "value", key = b"...",
# PASSWORD = """...""", "pins": [1, 2], "pin": 12; a value cut off by the end of the text (a
# truncated preview) too.
TRIPLE_DOUBLE = '"' * 3
TRIPLE_SINGLE = "'" * 3
QUOTED = re.compile(
    r"""(?:(["'])(?P<n1>[^"'\\\n]{1,100})\1|(?<!["'])\b(?P<n2>\w{1,100})"""
    r"""(?:\s*:\s*[\w.\[\]|, ]{1,60}?(?=\s*=))?)\s*[:=]\s*(?:[rRbBfFuU]{1,2}(?=["']))?"""
    rf"(?:{TRIPLE_DOUBLE}(?P<v5>[\s\S]*?)(?:{TRIPLE_DOUBLE}|\Z)"
    rf"|{TRIPLE_SINGLE}(?P<v6>[\s\S]*?)(?:{TRIPLE_SINGLE}|\Z)"
    # (Cut off only after a quoted name, as in a JSON preview: not in "input ('Password:')".)
    r"""|"(?P<v1>(?:[^"\\\n]|\\.)*)(?(1)(?:"|\Z)|")|'(?P<v2>(?:[^'\\\n]|\\.)*)'"""
    r"""|\[(?P<v3>[^\[\]{}\n]*)\]|(?P<v4>-?\d[\d.eE+\-]*))"""
)
# name: value, unquoted (a message, a header line): "API token: abc123". An authorization
# scheme before a placeholder ("Authorization: Token <key>", advice on what to send) is no
# secret: the placeholder is what a key would replace.
COLON = re.compile(
    r"(?<![\w-])(?P<n1>[A-Za-z][\w-]{0,40}(?: [A-Za-z][\w-]{0,40})?) ?:[ \t]*"
    r"(?!(?:Token|Bearer|Basic|JWT) <[\w-]{1,20}>(?:$|[\s'\"]))"
    r"(?P<v1>[^\s'\",;=]{3,})(?!\s*=)"  # not an annotation: api_key: str = "..."
)
# A multipart form field: name="password" then its headers, a blank line and the value.
MULTIPART = re.compile(
    r'\bname="(?P<n1>[^"\r\n]{1,100})"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*?\r?\n(?P<v1>[^\r\n]*)'
)
# PostgreSQL's DETAIL of a constraint: Key (api_token)=(value) already exists.
KEY_DETAIL = re.compile(
    r"\bKey \((?P<n1>[^()\n]{1,200})\)=\((?P<v1>[^\n]*?)\)"
    r"(?= already exists| is not present| is still referenced| conflicts with)"
)
# A HAR header or cookie: {"name": "Authorization", "value": "..."}.
NAME_VALUE = re.compile(r'("name"\s*:\s*")([^"\\]{1,100})("\s*,\s*"value"\s*:\s*")([^"\\]*)')


VALUE_GROUPS = ("v1", "v2", "v3", "v4", "v5", "v6")


def mask_pairs(text: str, is_sensitive: Callable[[str], bool], mask: str) -> str:
    """``text`` with the values of its pairs with a sensitive name replaced by ``mask``."""
    if "=" in text:
        text = _mask_matches(UNQUOTED, text, is_sensitive, mask)
    if "%3" in text:
        text = _mask_matches(ENCODED, text, is_sensitive, mask)
    if '"' in text or "'" in text:

        def name_value(match: re.Match[str]) -> str:
            if not is_sensitive(match[2]):
                return match[0]
            return match[1] + match[2] + match[3] + mask

        text = NAME_VALUE.sub(name_value, text)
        text = _mask_matches(QUOTED, text, is_sensitive, mask)
        if "name=" in text:
            text = _mask_matches(MULTIPART, text, is_sensitive, mask)
    if ":" in text:
        text = _mask_matches(COLON, text, is_sensitive, mask)
        if "Key (" in text:
            text = _mask_matches(KEY_DETAIL, text, is_sensitive, mask)
    return text


def mask_form_fields(text: str, is_sensitive: Callable[[str], bool], mask: str) -> str:
    """``text`` (a rendered page) with the values of its form fields with a sensitive name
    replaced by ``mask``."""
    return _mask_matches(FORM_FIELD, text, is_sensitive, mask)


def _mask_matches(
    pattern: re.Pattern[str], text: str, is_sensitive: Callable[[str], bool], mask: str
) -> str:
    """Mask the values of the pairs of ``text`` (matched by ``pattern``) with a sensitive
    name. Pairs may overlap (``a = "password": "x"``, ``ERROR: api_key = "x"``): after
    one with an ordinary name, the search goes on right after that name."""
    parts: list[str] = []
    kept = search = 0
    while (match := pattern.search(text, search)) is not None:
        groups = match.groupdict()
        value = next(g for g in VALUE_GROUPS if groups.get(g) is not None)
        start, end = match.span(value)
        name_group = "n1" if groups["n1"] else "n2"
        name = groups.get(name_group) or ""
        if "%" in name:
            name = unquote(name)
        if is_sensitive(name):
            parts += [text[kept:start], mask]
            kept = search = end
        else:
            search = max(match.end(name_group), match.start() + 1)
    return "".join(parts) + text[kept:] if parts else text
