"""Values known to be secret, masked wherever they appear, in every form they take.

What a run sent or wrote under a sensitive name, the profiled user's session key and the
values of the project's sensitive settings are known by their value, not by a name next to
them. Each is also looked for as it reads in a page (HTML-escaped), in a URL (percent-encoded)
and inside JSON text. Values of ``LONG`` characters or more are masked inside any text, in any
case; shorter ones (``SHORT`` or more) as whole words only, lest a common word be masked
everywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

LONG = 6  # known values this long are masked inside any text
SHORT = 3  # shorter ones, down to this, as whole words only


class KnownValues:
    """The values known to be secret so far; :meth:`extend` adds to them."""

    def __init__(self) -> None:
        self.values: list[str] = []  # the long ones, in all their forms, longest first
        # Per value (as written, and as it reads inside JSON text): its lower case, to test
        # for it cheaply, and the expression that masks it in any case (an echo of .upper()).
        self._matchers: dict[bool, list[tuple[str, re.Pattern[str]]]] = {False: [], True: []}
        self._short: re.Pattern[str] | None = None
        self._known: set[str] = set()

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

    def mask_long(self, value: str, json_encoded: bool, mask: str) -> str:
        """``value`` with the long known values masked wherever they appear (as they read
        inside JSON text, with ``json_encoded``)."""
        matchers = self._matchers[json_encoded]
        lowered = value.lower() if matchers else ""
        for needle, matcher in matchers:
            if needle in lowered:
                value = matcher.sub(mask, value)
        return value

    def mask_short(self, value: str, mask: str) -> str:
        """``value`` with the short known values masked where they are whole words."""
        return self._short.sub(mask, value) if self._short is not None else value

    def cut_off(self, text: str, mask: str) -> str:
        """``text`` (a body preview, cut at a size) with the start of a known value that the
        cut left at its end masked: the whole value is never there to be found."""
        for secret in self.values:
            for size in range(min(len(secret), len(text)) - 1, 3, -1):
                if text.endswith(secret[:size]):
                    return text[: len(text) - size] + mask
        return text


def _forms(value: str) -> set[str]:
    """``value`` and the forms it takes in a page and in a URL."""
    from html import escape
    from urllib.parse import quote, quote_plus

    return {value, escape(value), quote(value, safe=""), quote(value), quote_plus(value)}
