"""The one redaction policy: what is masked in every file written and every line printed.

- Values under a sensitive name, whatever their length: ``name=value`` (query strings, form
  bodies, cookies, command arguments), ``"name": "value"`` and ``'NAME': 'value'`` pairs, JSON
  keys, HAR ``{"name": ..., "value": ...}`` headers (:mod:`.pairsecrets`), and the SQL
  parameters and literals bound to a sensitive column (:mod:`.sqlsecrets`).
- Credentials recognisable by shape (``sk_live_``, ``ghp_``, ``AKIA``, JWTs, ``Bearer ...``,
  password hashes) and ``PROFILECMDS['REDACT_PATTERNS']``, wherever they appear.
- Known values wherever they appear: what the run sent or wrote under a sensitive name, the
  profiled user's session key, and the values of the project's sensitive settings
  (:func:`.secrets.settings_secrets`). Values of six characters or more are masked inside any
  text; shorter ones (three or more) as whole words only (:mod:`.knownvalues`).

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

from django_profilecmds.reports import sqlsecrets
from django_profilecmds.reports.knownvalues import KnownValues
from django_profilecmds.reports.pairsecrets import mask_form_fields, mask_pairs
from django_profilecmds.reports.secrets import (
    is_sensitive_name,
    name_pattern,
    settings_secrets,
    value_formats,
)

MASK = "********************"


class Redactor:
    """Masks one run's secrets; build it with :func:`redactor_for`, or with the values known."""

    def __init__(self, secret_values: Iterable[str] = (), *, project_settings: bool = True):
        self.names = name_pattern()
        self.formats = value_formats()
        self._names_seen: dict[str, bool] = {}
        self._strings_seen: dict[str, str] = {}
        self._sql_seen: dict[str, str] = {}
        self._params_seen: dict[str, sqlsecrets.Bound] = {}
        self.known_values = KnownValues()
        self.extend([*secret_values, *(settings_secrets() if project_settings else ())])

    def extend(self, secret_values: Iterable[Any]) -> None:
        """Mask these values too, from now on."""
        self.known_values.extend(secret_values)

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
        value = self.known_values.mask_long(value, json_encoded, MASK)
        value = self.formats.sub(_mask_format, value)
        if pairs and not json_encoded:
            value = mask_pairs(value, self.is_sensitive, MASK)
        if "name=" in value:
            value = mask_form_fields(value, self.is_sensitive, MASK)
        return self.known_values.mask_short(value, MASK)

    def known(self, name: str) -> str:
        """A function or file name: known values and credential formats masked (names hold
        no ``name=value`` pairs; the run's values are known by then)."""
        return self.text(name, pairs=False)

    def cut_off(self, text: str) -> str:
        """``text`` (a body preview, cut at a size) with the start of a known value that the
        cut left at its end masked: the whole value is never there to be found."""
        return self.known_values.cut_off(text, MASK)

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
                known = mask_pairs(value, self.is_sensitive, MASK)
            if len(self._strings_seen) > 50_000:
                self._strings_seen.clear()
            self._strings_seen[value] = known
        return known

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
