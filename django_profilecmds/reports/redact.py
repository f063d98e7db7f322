"""The one place that decides what must never leave the process: secrets are masked in every
file written and every line printed.

Names are matched with Django's own sensitive-name pattern (the one
``SafeExceptionReporterFilter`` uses for settings), extended with request credentials; values
known to be secret (such as the session key of the profiled user) are masked wherever they
appear.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Collection, Iterable
from typing import Any

MASK = "********************"
# Password hashes in Django's formats (``algorithm$...``), e.g. in an UPDATE's parameters.
PASSWORD_HASH = re.compile(
    r"\b(?:pbkdf2_sha256|pbkdf2_sha1|argon2|bcrypt_sha256|bcrypt|scrypt|md5|sha1|crypt)"
    r"\$[^\s'\",)]+"
)
# The hidden CSRF input of rendered forms, in body previews.
# (Also as it reads inside a JSON string, with escaped quotes.)
CSRF_INPUT = re.compile(r'(name=\\?"csrfmiddlewaretoken\\?" value=\\?")[^"\\]*')
EXTRA_NAMES = ("AUTHORIZATION", "COOKIE", "SESSION", "CSRF", "CREDENTIAL")
# Which column a query's placeholders are bound to: `INSERT INTO t ("a", "b") VALUES (%s, %s)`
# by position (several rows repeat the columns), else a column compared with or set to them:
# `"t"."a" = %s`, `"a" IN (%s, %s)`, `a LIKE %s`, `SET "a" = %s`.
PLACEHOLDER = re.compile(r"%s|%\((\w+)\)s")
INSERT_COLUMNS = re.compile(r"\s*INSERT\s+INTO\s+\S+\s*\(([^)]*)\)\s*VALUES", re.IGNORECASE)
COLUMN_PLACEHOLDERS = re.compile(
    r'("[^"]+"|`[^`]+`|\[[^\]]+\]|\w+)\s*(?:=|<>|!=|<=|>=|<|>|\bI?LIKE\b|\bIN\b)\s*\(?\s*'
    r"((?:%s\s*,\s*)*%s)",
    re.IGNORECASE,
)


def sensitive_name_pattern() -> re.Pattern[str]:
    from django.views.debug import SafeExceptionReporterFilter

    from django_profilecmds.conf import get_settings

    # Django's names, less its bare AUTH (which would mask "author"; AUTHORIZATION is ours).
    base = [
        n for n in SafeExceptionReporterFilter.hidden_settings.pattern.split("|") if n != "AUTH"
    ]
    names = [*base, *EXTRA_NAMES, *get_settings()["REDACT_NAMES"]]
    return re.compile("|".join(names), flags=re.IGNORECASE)


class Redactor:
    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        self.names = sensitive_name_pattern()
        self._names_seen: dict[str, bool] = {}
        self._params_seen: dict[str, frozenset[int]] = {}
        # Longest first, so a secret containing another is masked whole.
        self.values = sorted({v for v in secret_values if v and len(v) >= 6}, key=len, reverse=True)

    def is_sensitive(self, name: str) -> bool:
        known = self._names_seen.get(name)
        if known is None:
            known = self._names_seen[name] = bool(self.names.search(name))
        return known

    def text(self, value: str, json_encoded: bool = False) -> str:
        """Mask known secrets, password hashes and CSRF form inputs in ``value`` (the text of a
        JSON document when ``json_encoded``, where secrets appear JSON-escaped)."""
        # Cheap membership tests first: this runs on every string of a report.
        for secret in self.values:
            if json_encoded:
                secret = json.dumps(secret)[1:-1]
            if secret in value:
                value = value.replace(secret, MASK)
        if "$" in value:
            value = PASSWORD_HASH.sub(MASK, value)
        if "csrfmiddlewaretoken" in value:
            value = CSRF_INPUT.sub(rf"\g<1>{MASK}", value)
        return value

    def sensitive_params(self, sql: str) -> frozenset[int]:
        """Positions of the parameters of ``sql`` bound to a column with a sensitive name (a
        ``password``, an ``api_key``): the values they carry are secrets whoever made them."""
        known = self._params_seen.get(sql)
        if known is None:
            known = self._params_seen[sql] = self._find_sensitive_params(sql)
        return known

    def _find_sensitive_params(self, sql: str) -> frozenset[int]:
        if "%s" not in sql or not self.names.search(sql):
            return frozenset()
        starts = [match.start() for match in PLACEHOLDER.finditer(sql)]
        insert = INSERT_COLUMNS.match(sql)
        if insert is not None:
            columns = [_unquote(column) for column in insert[1].split(",")]
            return frozenset(
                index
                for index in range(len(starts))
                if self.is_sensitive(columns[index % len(columns)])
            )
        index_of = {start: index for index, start in enumerate(starts)}
        return frozenset(
            index_of[placeholder.start()]
            for match in COLUMN_PLACEHOLDERS.finditer(sql)
            if self.is_sensitive(_unquote(match[1]))
            for placeholder in PLACEHOLDER.finditer(sql, match.start(2), match.end(2))
        )

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
        """The values that ``params`` masks: those bound to sensitive columns (or named so)."""
        rows = params if many and isinstance(params, (list, tuple)) else [params]
        return [row[key] for row in rows for key in self._secret_keys(sql, row)]

    def _secret_keys(self, sql: str, row: Any) -> Collection[Any]:
        """The keys (a dict) or positions (a list) of one row of parameters that are secret."""
        if isinstance(row, dict):
            return {k for k in row if self.is_sensitive(str(k))}
        if isinstance(row, (list, tuple)):
            return [index for index in self.sensitive_params(sql) if index < len(row)]
        return ()

    def pairs(self, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(k, MASK if self.is_sensitive(k) else self.text(v)) for k, v in pairs]

    def json_text(self, text: str) -> str:
        """Mask a JSON document by key; text that is not JSON is masked by known values."""
        try:
            data = json.loads(text)
        except ValueError:
            return self.text(text)
        if not isinstance(data, (dict, list)):
            return self.text(text)
        return json.dumps(self.data(data))

    def data(self, value: Any) -> Any:
        """Mask a JSON-like structure: values under sensitive keys, and known secrets.

        Done on its JSON text (C-speed replacements) and with a hook per object while parsing
        it back, rather than a Python call per node: reports carry thousands of queries.
        """
        text = self.text(json.dumps(value), json_encoded=True)
        return json.loads(text, object_pairs_hook=self._mask_pairs)

    def _mask_pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        return {
            key: MASK if isinstance(item, str) and item and self.is_sensitive(key) else item
            for key, item in pairs
        }


def redactor_for(result: dict[str, Any], secret_values: Iterable[str] = ()) -> Redactor:
    """A redactor for one run's output.

    Values sent under a sensitive name (a ``password`` field, an ``Authorization`` header) are
    secrets wherever they show up again: in SQL parameters, or echoed in a response body.
    """
    names = Redactor()
    request = result["spec"]["request"]
    call = result["spec"]["call"]
    sent: list[tuple[str, str]] = []
    if request is not None:
        from urllib.parse import parse_qsl, urlsplit

        from django.http import parse_cookie

        sent += [*request["data"], *request["headers"]]
        sent += parse_qsl(urlsplit(request["path"]).query)
        for name, value in request["headers"]:
            if name.lower() == "cookie":
                sent += [(f"cookie {key}", item) for key, item in parse_cookie(value).items()]
        if request["json_body"] is not None:
            sent.extend(_json_pairs(request["json_body"]))
    if call is not None:
        sent.extend(_json_pairs(json.dumps(dict(call["kwargs"]), default=str)))
    planted = [value for name, value in sent if names.is_sensitive(name)]
    planted += [part for value in planted for part in value.split()]
    # Values the code itself wrote to or looked up by a sensitive column (a generated token)
    # are masked wherever else they show up too: EXPLAIN plans, response bodies.
    for query in result.get("queries", []):
        planted += names.secret_params(query["sql"], query["params"], query["many"])
    planted = [value for value in planted if isinstance(value, str)]
    return Redactor([*secret_values, *planted])


def redact_result(result: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """A copy of ``RunResult.to_dict()`` that is safe to write anywhere."""
    request = result["spec"]["request"]
    clean = redactor.data(result)
    for query in clean.get("queries", []):
        query["params"] = redactor.params(query["sql"], query["params"], query["many"])
    if request is None:
        return clean  # type: ignore[no-any-return]
    clean_request = clean["spec"]["request"]
    clean_request["data"] = redactor.pairs(request["data"])
    clean_request["headers"] = redactor.pairs(request["headers"])
    if request["json_body"] is not None:
        clean_request["json_body"] = redactor.json_text(request["json_body"])
    clean["response"]["body_preview"] = redactor.json_text(result["response"]["body_preview"])
    return clean  # type: ignore[no-any-return]


def _unquote(identifier: str) -> str:
    return identifier.strip().strip('"`[]')


def _json_pairs(text: str) -> list[tuple[str, str]]:
    """Every (key, scalar value) pair anywhere in a JSON document."""
    pairs: list[tuple[str, str]] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, str(name))
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif key and value is not None:
            pairs.append((key, str(value)))

    with contextlib.suppress(ValueError):
        walk(json.loads(text))
    return pairs


_PAIR = re.compile(r"([\w.\-\[\]]{1,100})=([^&;\s\"']+)")
_JSON_PAIR = re.compile(r'"([^"\\]{1,100})"(\s*:\s*)"((?:[^"\\]|\\.)*)"')


def mask_pairs(text: str, names: re.Pattern[str]) -> str:
    """Mask the value of every ``name=value`` (query string, form body, cookie) and JSON
    ``"name": "value"`` pair of ``text`` whose name is sensitive: for raw lines of a log."""
    if "=" in text:
        text = _PAIR.sub(
            lambda m: f"{m[1]}={MASK}" if names.search(m[1]) else m[0],
            text,
        )
    if '":' in text or '" :' in text:
        text = _JSON_PAIR.sub(
            lambda m: f'"{m[1]}"{m[2]}"{MASK}"' if names.search(m[1]) else m[0],
            text,
        )
    return text
