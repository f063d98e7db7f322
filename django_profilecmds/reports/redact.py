"""The one redaction policy: what is masked in every file written and every line printed.

- Values under a sensitive name, whatever their length: ``name=value`` (query strings, form
  bodies, cookies, command arguments), ``"name": "value"`` and ``'NAME': 'value'`` pairs, JSON
  keys, HAR ``{"name": ..., "value": ...}`` headers, and the SQL parameters and literals bound
  to a sensitive column (:mod:`.sqlsecrets`).
- Credentials recognisable by shape (``sk_live_``, ``ghp_``, ``AKIA``, JWTs, ``Bearer ...``,
  password hashes) and ``PROFILECMDS['REDACT_PATTERNS']``, wherever they appear.
- Known values wherever they appear: what the run sent or wrote under a sensitive name, the
  profiled user's session key, and the values of the project's sensitive settings
  (:func:`.secrets.settings_secrets`). Values of six characters or more are masked inside any
  text; shorter ones (three or more) as whole words only.

Which names are sensitive is :mod:`.secrets`'s business. Redaction never raises: text that
defeats a pattern is masked by the next one, and a JSON document that cannot be masked as text
is masked value by value.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Collection, Iterable, Iterator
from typing import Any
from urllib.parse import unquote

from django_profilecmds.reports import sqlsecrets
from django_profilecmds.reports.secrets import (
    is_sensitive_name,
    name_pattern,
    settings_secrets,
    value_formats,
)

MASK = "********************"
LONG = 6  # known values this long are masked inside any text
SHORT = 3  # shorter ones, down to this, as whole words only

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
# name: value, unquoted (a message, a header line): "API token: abc123".
COLON = re.compile(
    r"(?<![\w-])(?P<n1>[A-Za-z][\w-]{0,40}(?: [A-Za-z][\w-]{0,40})?) ?:[ \t]*"
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


class Redactor:
    """Masks one run's secrets; build it with :func:`redactor_for`, or with the values known."""

    def __init__(self, secret_values: Iterable[str] = (), *, project_settings: bool = True):
        self.names = name_pattern()
        self.formats = value_formats()
        self._names_seen: dict[str, bool] = {}
        self._strings_seen: dict[str, str] = {}
        self._sql_seen: dict[str, str] = {}
        self._params_seen: dict[str, sqlsecrets.Bound] = {}
        self.values: list[str] = []
        # Per value (as written, and as it reads inside JSON text): its lower case, to test
        # for it cheaply, and the expression that masks it in any case (an echo of .upper()).
        self._matchers: dict[bool, list[tuple[str, re.Pattern[str]]]] = {False: [], True: []}
        self._short: re.Pattern[str] | None = None
        self._known: set[str] = set()
        self.extend([*secret_values, *(settings_secrets() if project_settings else ())])

    def extend(self, secret_values: Iterable[Any]) -> None:
        """Mask these values too, from now on."""
        new = {v for v in secret_values if isinstance(v, str) and len(v) >= SHORT}
        if new <= self._known:
            return
        self._known |= new
        # As the value reads in a page (HTML-escaped) or a URL (percent-encoded) too.
        known = {form for value in self._known for form in _forms(value)}
        # Longest first, so a secret containing another is masked whole.
        self.values = sorted((v for v in known if len(v) >= LONG), key=len, reverse=True)
        for json_encoded in (False, True):
            forms = [json.dumps(v)[1:-1] if json_encoded else v for v in self.values]
            self._matchers[json_encoded] = [
                (form.lower(), re.compile(re.escape(form), re.IGNORECASE)) for form in forms
            ]
        short = {v for v in known if len(v) < LONG}
        short |= {json.dumps(v)[1:-1] for v in short}  # as they read inside JSON text
        words = "|".join(re.escape(v) for v in sorted(short, key=len, reverse=True))
        self._short = re.compile(rf"(?<!\w)(?:{words})(?!\w)") if short else None

    def is_sensitive(self, name: str) -> bool:
        known = self._names_seen.get(name)
        if known is None:
            known = self._names_seen[name] = is_sensitive_name(name, self.names)
        return known

    def text(self, value: str, json_encoded: bool = False, *, pairs: bool = True) -> str:
        """``value`` with every secret masked.

        With ``json_encoded`` (the text of a JSON document, where secrets appear JSON-escaped)
        only what cannot break the document: known values, key formats, CSRF inputs. Pairs
        are masked in its strings once parsed (see ``data``).
        """
        if not value:
            return value
        matchers = self._matchers[json_encoded]
        lowered = value.lower() if matchers else ""
        for needle, matcher in matchers:
            if needle in lowered:
                value = matcher.sub(MASK, value)
        value = self.formats.sub(_mask_format, value)
        if pairs and not json_encoded:
            value = self._pairs(value)
        if "name=" in value:
            value = self._mask_pairs(FORM_FIELD, value)
        if self._short is not None:
            value = self._short.sub(MASK, value)
        return value

    def known(self, name: str) -> str:
        """A function or file name: known values and credential formats masked (names hold
        no ``name=value`` pairs; the run's values are known by then)."""
        return self.text(name, pairs=False)

    def cut_off(self, text: str) -> str:
        """``text`` (a body preview, cut at a size) with the start of a known value that the
        cut left at its end masked: the whole value is never there to be found."""
        for secret in self.values:
            for size in range(min(len(secret), len(text)) - 1, 3, -1):
                if text.endswith(secret[:size]):
                    return text[: len(text) - size] + MASK
        return text

    def _pairs(self, value: str) -> str:
        """Mask the values of the pairs of ``value`` with a sensitive name."""
        if "=" in value:
            value = self._mask_pairs(UNQUOTED, value)
        if "%3" in value:
            value = self._mask_pairs(ENCODED, value)
        if '"' in value or "'" in value:
            value = NAME_VALUE.sub(self._mask_name_value, value)
            value = self._mask_pairs(QUOTED, value)
            if "name=" in value:
                value = self._mask_pairs(MULTIPART, value)
        if ":" in value:
            value = self._mask_pairs(COLON, value)
            if "Key (" in value:
                value = self._mask_pairs(KEY_DETAIL, value)
        return value

    def _string(self, value: str) -> str:
        """A string of a parsed document: its pairs (once per distinct string: queries repeat),
        or the whole of a JSON document it holds."""
        if "=" not in value and ":" not in value:
            return value
        known = self._strings_seen.get(value)
        if known is None:
            if value[:1] in ("{", "[") and value[-1:] in ("}", "]"):
                known = self.json_text(value)
            else:
                known = self._pairs(value)
            if len(self._strings_seen) > 50_000:
                self._strings_seen.clear()
            self._strings_seen[value] = known
        return known

    def _mask_pairs(self, pattern: re.Pattern[str], text: str) -> str:
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
            if self.is_sensitive(name):
                parts += [text[kept:start], MASK]
                kept = search = end
            else:
                search = max(match.end(name_group), match.start() + 1)
        return "".join(parts) + text[kept:] if parts else text

    def _mask_name_value(self, match: re.Match[str]) -> str:
        if not self.is_sensitive(match[2]):
            return match[0]
        return match[1] + match[2] + match[3] + MASK

    # SQL

    def _bound(self, sql: str) -> sqlsecrets.Bound:
        known = self._params_seen.get(sql)
        if known is None:
            known = sqlsecrets.NOTHING
            if is_sensitive_sql(sql, self):
                known = sqlsecrets.bound_values(sql, self.is_sensitive)
            self._params_seen[sql] = known
        return known

    def sensitive_params(self, sql: str) -> frozenset[int]:
        """Positions of the parameters of ``sql`` bound to a column with a sensitive name (a
        ``password``, an ``api_key``): the values they carry are secrets whoever made them."""
        return self._bound(sql).positions

    def sql_text(self, sql: str) -> str:
        """``sql`` as printed: bound literals and every other secret masked (once per
        distinct statement)."""
        known = self._sql_seen.get(sql)
        if known is None:
            known = self._sql_seen[sql] = self.text(self.sql(sql))
        return known

    def sql(self, sql: str) -> str:
        """``sql`` with the string literals bound to sensitive columns masked."""
        literals = self._bound(sql).literals
        return sqlsecrets.mask_literals(sql, literals, MASK) if literals else sql

    def plan(self, lines: Iterable[str]) -> list[str]:
        """EXPLAIN output: literals on lines that name a sensitive column, and known values."""
        return [self.text(sqlsecrets.mask_plan_line(line, self._names_in, MASK)) for line in lines]

    def _names_in(self, text: str) -> bool:
        return any(self.is_sensitive(word) for word in re.findall(r"\w+", text))

    def params(self, sql: str, params: Any, many: bool = False) -> Any:
        """``params`` with the values bound to sensitive columns (or named so) masked."""
        if many and isinstance(params, (list, tuple)):
            return [self.params(sql, row) for row in params]
        secret = self._secret_keys(sql, params)
        if not secret:
            return params
        if isinstance(params, dict):
            return {k: MASK if k in secret else v for k, v in params.items()}
        return [MASK if index in secret else value for index, value in enumerate(params)]

    def secret_params(self, sql: str, params: Any, many: bool = False) -> list[Any]:
        """The values that ``params`` masks: those bound to sensitive columns (or named so),
        and the items of those that are arrays (``UNNEST``'s, one per column)."""
        rows = params if many and isinstance(params, (list, tuple)) else [params]
        return list(flattened([row[key] for row in rows for key in self._secret_keys(sql, row)]))

    def secret_literals(self, sql: str) -> list[str]:
        """The values of the string literals that ``sql`` masks, as written and as read
        (``'it''s'`` and ``E'it\\'s'`` are ``it's``): statements are also printed as written."""
        values: list[str] = []
        for literal in self._bound(sql).literals:
            escapes = literal[0][0] in "Ee"
            written = literal[0][1 + escapes : -1]
            read = written.replace("''", "'")
            values += dict.fromkeys([written, re.sub(r"\\(.)", r"\1", read) if escapes else read])
        return values

    def _secret_keys(self, sql: str, row: Any) -> Collection[Any]:
        """The keys (a dict) or positions (a list) of one row of parameters that are secret:
        by the column they are bound to, or a dict's keys by their name too."""
        if isinstance(row, dict):
            names = self._bound(sql).names
            return {k for k in row if k in names or self.is_sensitive(str(k))}
        if isinstance(row, (list, tuple)):
            return [index for index in self.sensitive_params(sql) if index < len(row)]
        return ()

    # Structures

    def pairs(self, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(k, MASK if self.is_sensitive(k) else self.text(v)) for k, v in pairs]

    def json_text(self, text: str) -> str:
        """Mask a JSON document by key; text that is not JSON is masked as text."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return self.text(text)
        if not isinstance(data, (dict, list)):
            return self.text(text)
        return json.dumps(self.data(data))

    def data(self, value: Any) -> Any:
        """Mask a JSON-like structure: values under sensitive keys, and secrets in strings.

        Done on its JSON text (C-speed replacements) and with a hook per object while parsing
        it back, rather than a Python call per node: reports carry thousands of queries. When
        masking the text broke the document, value by value instead.
        """
        try:
            text = json.dumps(value, default=str)
        except (ValueError, RecursionError):
            return self._walk(value)
        with contextlib.suppress(ValueError, RecursionError):
            return json.loads(self.text(text, json_encoded=True), object_pairs_hook=self._hook)
        return self._walk(value)

    def _hook(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        masked = {key: self._under(key, item) for key, item in pairs}
        name = masked.get("name")
        if isinstance(name, str) and "value" in masked and self.is_sensitive(name):
            masked["value"] = MASK
        return masked

    def _under(self, key: str, item: Any) -> Any:
        """A value under ``key``: masked when the key is sensitive and the value is data
        (a string, a number, a list of them), not a structure of the report."""
        if isinstance(item, bool) or item is None:
            return item
        if isinstance(item, dict):
            return _mask_all(item) if self.is_sensitive(key) else item
        if isinstance(item, list):
            if self.is_sensitive(key):
                return _mask_all(item)
            if not item or any(isinstance(i, (dict, list)) for i in item):
                return item
            return [self._string(i) if isinstance(i, str) else i for i in item]
        if item == "":
            return item
        if self.is_sensitive(key):
            return MASK
        return self._string(item) if isinstance(item, str) else item

    def _walk(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return self._hook([(str(k), self._walk(v, str(k))) for k, v in value.items()])
        if isinstance(value, (list, tuple)):
            return [self._walk(item, key) for item in value]
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, (bool, int, float)):
            return value
        return self.text(str(value))


def is_sensitive_sql(sql: str, redactor: Redactor) -> bool:
    """Whether ``sql`` names a sensitive column at all (the cheap test before reading it)."""
    return any(redactor.is_sensitive(word) for word in set(re.findall(r"[A-Za-z_]\w*", sql)))


def _forms(value: str) -> set[str]:
    """``value`` and the forms it takes in a page and in a URL."""
    from html import escape
    from urllib.parse import quote, quote_plus

    return {value, escape(value), quote(value, safe=""), quote(value), quote_plus(value)}


def _mask_all(value: Any) -> Any:
    """Every string and number in ``value`` masked, its shape kept: what a sensitive key
    holds (``"credentials": {"user": ..., "value": ...}``)."""
    if isinstance(value, dict):
        return {key: _mask_all(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_all(item) for item in value]
    if isinstance(value, bool) or value is None or value == "":
        return value
    return MASK


def flattened(values: Iterable[Any]) -> Iterator[Any]:
    """The values, with those that are lists or tuples replaced by their items, at any depth."""
    for value in values:
        if isinstance(value, (list, tuple)):
            yield from flattened(value)
        else:
            yield value


def _mask_format(match: re.Match[str]) -> str:
    if "urlpw" in match.re.groupindex and match.group("urlpw"):
        start, end = match.span("urlpw")
        whole = match.string
        return whole[match.start() : start] + MASK + whole[end : match.end()]
    return MASK
