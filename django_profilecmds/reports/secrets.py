"""What counts as a secret: sensitive names, well-known credential formats, and the values of
the project's sensitive settings. :mod:`django_profilecmds.reports.redact` applies them.

Names are matched two ways: Django's own pattern (the one ``SafeExceptionReporterFilter`` hides
settings with: ``API``, ``TOKEN``, ``KEY``, ``SECRET``, ``PASS``, ``SIGNATURE``), anywhere in
the name, and short words (``pwd``, ``otp``, ``auth``, ``code``) only as a whole word of it, so
that ``X-Debug-Auth`` and ``otp_code`` are masked but ``author`` and ``barcode`` are not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any

from django.core.signals import setting_changed

# Substrings, on top of Django's (less its bare AUTH, which would mask "author": see WORDS).
EXTRA_NAMES = ("AUTHORIZATION", "COOKIE", "SESSION", "CSRF", "CREDENTIAL", "PRIVATE")
# Whole words of a name (split at punctuation and camelCase).
WORDS = frozenset(
    {"auth", "pwd", "passwd", "pin", "jwt", "otp", "totp", "hotp", "mfa", "code", "sid"}
    | {"nonce", "sig", "salt", "bearer", "cvv", "cvc", "ssn"}
)
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")

# Credentials recognisable by their shape alone, masked wherever they appear: each with the
# literal text it contains, so the (costly) expression only runs on text that has it.
# Where a credential may start: not inside a word, but right after a JSON escape (``\n``).
START = r"(?:(?<=\\[nrtbf])|(?<![0-9A-Za-z_]))"
KEY_FORMATS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("_live_", "_test_"), START + r"(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{8,}"),  # Stripe
    (("whsec_",), START + r"whsec_[0-9A-Za-z]{16,}"),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), START + r"gh[pousr]_[0-9A-Za-z]{20,}"),  # GitHub
    (("github_pat_",), START + r"github_pat_[0-9A-Za-z_]{20,}"),
    (("glpat-",), START + r"glpat-[0-9A-Za-z_\-]{20,}"),  # GitLab
    (
        ("AKIA", "ASIA", "AGPA", "AIDA", "AROA"),
        START + r"(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b",
    ),
    (("xox",), START + r"xox[abposr]-[0-9A-Za-z\-]{10,}"),  # Slack
    (("AIza",), START + r"AIza[0-9A-Za-z_\-]{35}"),  # Google API keys
    (("npm_",), START + r"npm_[0-9A-Za-z]{36}"),
    (("SG.",), START + r"SG\.[0-9A-Za-z_\-]{16,}\.[0-9A-Za-z_\-]{16,}"),  # SendGrid
    (("eyJ",), START + r"eyJ[0-9A-Za-z_\-]{5,}\.eyJ[0-9A-Za-z_\-]{5,}\.[0-9A-Za-z_\-]*"),  # JWT
    (
        ("PRIVATE KEY-----",),
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:(?!-----END)[\s\S])*(?:-----END [A-Z ]*PRIVATE"
        r" KEY-----)?",
    ),
    # The password of a URL (scheme://user:password@host).
    # (An empty user, redis://:password@host, and a "/" in the password, count too.)
    (("://",), r"://[^\s:/@'\"\\<>]*:(?P<urlpw>[^\s@'\"\\<>]+)@"),
    # The credential after an HTTP authentication scheme: "Bearer abc.def", "Token 1a2b3c4d".
    (("Bearer",), START + r"Bearer\s+[0-9A-Za-z._~+/=\-]{6,}"),
    (
        ("Basic", "Token", "Digest", "ApiKey", "Api-Key"),
        START
        + r"(?:Basic|Token|Digest|ApiKey|Api-Key)\s+(?=\S*[0-9+/=._~\-])[0-9A-Za-z._~+/=\-]{8,}",
    ),
    # Password hashes in Django's formats (``algorithm$...``), e.g. in an UPDATE's parameters:
    # only the characters such a hash is made of, so one inside JSON text stops at its quote.
    (
        ("pbkdf2_", "argon2", "bcrypt", "scrypt", "md5$", "sha1$", "crypt$"),
        START + r"(?:pbkdf2_sha256|pbkdf2_sha1|argon2|bcrypt_sha256|bcrypt|scrypt|md5|sha1|crypt)"
        r"\$[0-9A-Za-z+/=.$_\-]+",
    ),
)


class ValueFormats:
    """The credential formats, and ``PROFILECMDS['REDACT_PATTERNS']`` (always tried)."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.formats = [(triggers, re.compile(pattern)) for triggers, pattern in KEY_FORMATS]
        self.formats += [((), re.compile(pattern)) for pattern in extra]
        self.always = bool(self.formats[len(KEY_FORMATS) :])
        literals = sorted({t for triggers, _ in KEY_FORMATS for t in triggers}, key=len)
        self._any_trigger = re.compile("|".join(re.escape(t) for t in reversed(literals)))

    def sub(self, replace: Callable[[re.Match[str]], str], text: str) -> str:
        # One search for any trigger settles most short strings (a query's parameters).
        if len(text) < 2000 and not self.always and not self._any_trigger.search(text):
            return text
        for triggers, pattern in self.formats:
            if not triggers or any(trigger in text for trigger in triggers):
                text = pattern.sub(replace, text)
        return text


def name_pattern() -> re.Pattern[str]:
    """Django's sensitive-setting pattern with ours and ``PROFILECMDS['REDACT_NAMES']``."""
    from django.views.debug import SafeExceptionReporterFilter

    from django_profilecmds.conf import get_settings

    base = [
        n for n in SafeExceptionReporterFilter.hidden_settings.pattern.split("|") if n != "AUTH"
    ]
    names = [*base, *EXTRA_NAMES, *get_settings()["REDACT_NAMES"]]
    return re.compile("|".join(names), flags=re.IGNORECASE)


def value_formats() -> ValueFormats:
    from django_profilecmds.conf import get_settings

    return ValueFormats(get_settings()["REDACT_PATTERNS"])


def is_sensitive_name(name: str, pattern: re.Pattern[str]) -> bool:
    if pattern.search(name):
        return True
    return any(word.lower() in WORDS for word in _WORD.findall(name))


# Settings whose own name says their value is a credential (the last key of a nested one:
# DATABASES["default"]["PASSWORD"]).
SECRET_SETTING = re.compile(r"SECRET|PASS|PWD|TOKEN|KEY|SIGNATURE|CREDENTIAL|PRIVATE", re.I)
# A dotted path or app label names code, not a secret (AUTH_USER_MODEL, PASSWORD_HASHERS).
DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")


def mask_argv(args: Iterable[str], mask: str) -> list[str]:
    """Command-line arguments with the values of sensitive options masked: ``--api-key=x``
    and ``--password x``."""
    secret = set(_argv_secret_positions(list(args), is_sensitive))
    masked = []
    for index, arg in enumerate(args):
        if index in secret:
            name, sep, _ = arg.partition("=")
            arg = f"{name}={mask}" if sep and arg.startswith("-") else mask
        masked.append(arg)
    return masked


def argv_secrets(args: Iterable[str], sensitive: Callable[[str], bool]) -> list[str]:
    """The values ``mask_argv`` hides."""
    args = list(args)
    values = []
    for index in _argv_secret_positions(args, sensitive):
        name, sep, value = args[index].partition("=")
        values.append(value if sep and name.startswith("-") else args[index])
    return values


def _argv_secret_positions(args: list[str], sensitive: Callable[[str], bool]) -> Iterator[int]:
    for index, arg in enumerate(args):
        if not arg.startswith("-"):
            continue
        name, sep, _ = arg.partition("=")
        if not sensitive(name.lstrip("-")):
            continue
        if sep:
            yield index
        elif index + 1 < len(args) and not args[index + 1].startswith("-"):
            yield index + 1


def is_sensitive(name: str) -> bool:
    """Whether ``name`` (a field, header, option or setting) is sensitive, by the rules above."""
    return is_sensitive_name(name, _cached_name_pattern())


@lru_cache(maxsize=1)
def _cached_name_pattern() -> re.Pattern[str]:
    return name_pattern()


@lru_cache(maxsize=1)
def settings_secrets() -> tuple[str, ...]:
    """The values of the project's sensitive settings (``SECRET_KEY``, database passwords,
    ``EMAIL_HOST_PASSWORD``...), masked wherever they appear (``diffsettings``, a page that
    shows settings): what the project's exception reporter filter hides, and every string
    under a setting or key named like a credential, less dotted paths.
    """
    from django.conf import settings
    from django.views.debug import get_default_exception_reporter_filter

    substitute: object
    try:
        reporter = get_default_exception_reporter_filter()
        safe = reporter.get_safe_settings()
        substitute = reporter.cleansed_substitute
    except Exception:  # a broken custom filter must not stop a profile: names still apply
        safe, substitute = {}, object()
    found: set[str] = set()
    for name in dir(settings):
        if name.isupper():
            try:
                value = getattr(settings, name, None)
            except Exception:  # ImproperlyConfigured (an empty SECRET_KEY): Django says why
                continue
            found.update(_hidden(value, safe.get(name), substitute, name))
    return tuple(sorted(found, key=len, reverse=True))


def clear_settings_secrets(*, setting: str, **kwargs: Any) -> None:
    settings_secrets.cache_clear()
    _cached_name_pattern.cache_clear()


def _hidden(value: Any, safe: Any, substitute: Any, name: str) -> Iterator[str]:
    """The strings of ``value`` that its cleansed copy ``safe`` hides, or that sit under a
    credential's name."""
    if isinstance(value, str):
        hidden = safe == substitute or SECRET_SETTING.search(name)
        if hidden and len(value) >= 4 and not DOTTED.fullmatch(value):
            yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = substitute if safe == substitute else None
            if isinstance(safe, dict):
                inner = safe.get(key)
            yield from _hidden(item, inner, substitute, str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            inner = substitute if safe == substitute else None
            if isinstance(safe, (list, tuple)) and index < len(safe):
                inner = safe[index]
            yield from _hidden(item, inner, substitute, name)


setting_changed.connect(clear_settings_secrets)
