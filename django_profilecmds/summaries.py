"""What a run's outcome, its email and the environment come to in a :class:`RunResult`."""

from __future__ import annotations

import os
import platform
from typing import Any

from django_profilecmds.drivers import Outcome
from django_profilecmds.result import EmailSummary, ResponseSummary


def response_summary(outcome: Outcome) -> ResponseSummary:
    response = outcome.response
    if response is None:
        reason = outcome.returned or "raised"
        return ResponseSummary(None, reason, "", 0, False, {})
    return ResponseSummary(
        status=response.status_code,
        reason=response.reason_phrase,
        content_type=response.get("Content-Type", ""),
        size=outcome.body_size,
        streaming=response.streaming,
        headers=dict(response.items()),
        body_preview=_body_preview(response),
    )


TEXTUAL = ("text/", "json", "xml", "javascript")
PREVIEW_BYTES = 2000


def _body_preview(response: Any) -> str:
    content_type = response.get("Content-Type", "")
    if response.streaming or not any(kind in content_type for kind in TEXTUAL):
        return ""
    try:
        return str(response.content[:PREVIEW_BYTES].decode(response.charset, errors="replace"))
    except LookupError:  # a charset Python does not know
        return str(response.content[:PREVIEW_BYTES].decode("latin-1"))


def email_summary(message: Any) -> EmailSummary:
    return EmailSummary(
        subject=str(message.subject), from_email=str(message.from_email), to=list(message.to)
    )


def environment() -> dict[str, str]:
    import django
    from django.db import connections

    vendors = sorted({connections[alias].vendor for alias in connections})
    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "settings": os.environ.get("DJANGO_SETTINGS_MODULE", ""),
        "databases": ", ".join(vendors),
    }
