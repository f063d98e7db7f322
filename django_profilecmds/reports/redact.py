"""The one place that decides what must never leave the process: secrets are masked in every
file written and every line printed.

Names are matched with Django's own sensitive-name pattern (the one
``SafeExceptionReporterFilter`` uses for settings), extended with request credentials; values
known to be secret (such as the session key of the profiled user) are masked wherever they
appear.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

MASK = "********************"
# The hidden CSRF input of rendered forms, in body previews.
CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*')
EXTRA_NAMES = ("AUTHORIZATION", "COOKIE", "SESSION", "CSRF", "CREDENTIAL")


def sensitive_name_pattern() -> re.Pattern[str]:
    from django.views.debug import SafeExceptionReporterFilter

    base = SafeExceptionReporterFilter.hidden_settings.pattern
    return re.compile(f"{base}|{'|'.join(EXTRA_NAMES)}", flags=re.IGNORECASE)


class Redactor:
    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        self.names = sensitive_name_pattern()
        # Longest first, so a secret containing another is masked whole.
        self.values = sorted({v for v in secret_values if v and len(v) >= 6}, key=len, reverse=True)

    def is_sensitive(self, name: str) -> bool:
        return bool(self.names.search(name))

    def text(self, value: str) -> str:
        for secret in self.values:
            value = value.replace(secret, MASK)
        return CSRF_INPUT.sub(rf"\g<1>{MASK}", value)

    def pairs(self, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(k, MASK if self.is_sensitive(k) else self.text(v)) for k, v in pairs]

    def json_text(self, text: str) -> str:
        try:
            data = json.loads(text)
        except ValueError:
            return self.text(text)
        return json.dumps(self.data(data))

    def data(self, value: Any) -> Any:
        """Mask a JSON-like structure: values under sensitive keys, and known secrets."""
        if isinstance(value, dict):
            return {
                key: MASK
                if self.is_sensitive(str(key)) and value[key] not in (None, "")
                else self.data(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.data(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value


def redact_result(result: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """A copy of ``RunResult.to_dict()`` that is safe to write anywhere."""
    clean = redactor.data(result)
    request = clean["spec"]["request"]
    request["data"] = redactor.pairs(result["spec"]["request"]["data"])
    request["headers"] = redactor.pairs(result["spec"]["request"]["headers"])
    if request["json_body"] is not None:
        request["json_body"] = redactor.json_text(result["spec"]["request"]["json_body"])
    return clean  # type: ignore[no-any-return]
