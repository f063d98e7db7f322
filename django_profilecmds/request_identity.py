"""Who a request turned out to be, read once it was answered, and the note for a ``--user`` run
that the view refused.

Django's AuthenticationMiddleware puts a lazy user on the request, and DRF's ``Request.user``
setter puts the user its authentication classes found on the same ``HttpRequest``: what is
there after the response is who the view served. It is read without evaluating anything, so
no query runs for it: a lazy user that nothing read stands for the session that was sent.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls.resolvers import ResolverMatch

from django_profilecmds.result import RequestIdentity, ResponseSummary
from django_profilecmds.users import Identity, describe_user

# How the user came to be on the request, as the label says it.
HOW = {
    "session": "session",
    "authorization": "by Authorization header",
    "direct": "attached by --direct",
}
# Schemes of a WWW-Authenticate challenge whose credentials go in an Authorization header.
TOKEN_SCHEMES = ("token", "bearer", "jwt")


def view_authentication(match: ResolverMatch | None) -> list[type]:
    """The authentication classes of a DRF view (``as_view()`` leaves its class as ``cls``)."""
    view_class = getattr(match.func, "cls", None) if match is not None else None
    classes = getattr(view_class, "authentication_classes", None) or ()
    return [cls for cls in classes if isinstance(cls, type)]


def read_identity(
    request: HttpRequest,
    sent: Identity | None,
    authentication: list[type],
    attached: bool = False,
) -> RequestIdentity:
    """Who ``request`` was once answered. ``sent``: the ``--user`` identity whose session it
    carried (``attached``: whom the direct driver put on it instead)."""
    from django.utils.functional import LazyObject, empty

    authorization = bool(request.META.get("HTTP_AUTHORIZATION"))
    user: Any = vars(request).get("user")
    unread = False
    if isinstance(user, LazyObject):
        unread = user._wrapped is empty
        user = (sent.user if sent else None) if unread else user._wrapped
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    by = ""
    if user is not None:
        if attached and sent is not None and user is sent.user:
            by = "direct"
        elif unread or _session_user(request) == str(user.pk):
            by = "session"
        elif authorization:
            by = "authorization"
    identity = RequestIdentity(
        label="",
        user=describe_user(user) if user is not None else None,
        by=by,
        authorization=authorization,
        sent=sent.description if sent else None,
        attached=attached,
        authentication=[cls.__name__ for cls in authentication],
    )
    identity.label = _label(identity)
    return identity


def _session_user(request: HttpRequest) -> str | None:
    """The user id in the request's session, if something loaded the session (no query)."""
    from django.contrib.auth import SESSION_KEY

    session = vars(request).get("session")
    cache = getattr(session, "__dict__", {}).get("_session_cache")
    return str(cache[SESSION_KEY]) if isinstance(cache, dict) and SESSION_KEY in cache else None


def _label(identity: RequestIdentity) -> str:
    """``as alice (pk=1) · session``, or what was sent when the request stayed anonymous."""
    if identity.user is not None:
        how = HOW.get(identity.by)
        return f"as {identity.user}" + (f" · {how}" if how else "")
    sent = []
    if identity.sent:
        attached = f"--direct attached {identity.sent}"
        sent.append(attached if identity.attached else f"the session of {identity.sent} was sent")
    if identity.authorization:
        sent.append("an Authorization header was sent")
    return f"anonymous, although {' and '.join(sent)}" if sent else "anonymous"


def _sent(identity: RequestIdentity) -> str:
    return str(identity.sent) if identity.attached else f"the session of {identity.sent}"


def auth_note(
    identity: RequestIdentity, response: ResponseSummary, authentication: list[type]
) -> str | None:
    """For a ``--user`` run answered 401 or 403 (or with a WWW-Authenticate challenge): whom
    the request carried, what the view made of the session, and how a token API takes its
    credentials."""
    if identity.sent is None:
        return None
    challenge = next(
        (value for name, value in response.headers.items() if name.lower() == "www-authenticate"),
        "",
    )
    refused = response.status in (401, 403)
    if not refused and not challenge:
        return None
    answered = f"answered {response.status} {response.reason}"
    if identity.by in ("session", "direct"):
        if not refused:
            return None
        return (
            f"The view accepted {_sent(identity)} and still {answered}: the user lacks a "
            "permission; the login is not the cause."
        )
    classes = ", ".join(identity.authentication)
    if identity.user is not None:
        note = (
            f"The request went as {identity.user} ({HOW.get(identity.by, 'not by the session')}),"
            f" not as {_sent(identity)}, and the view {answered}."
        )
    else:
        note = (
            f"The request carried {_sent(identity)} and stayed anonymous: the view did not "
            f"accept {'that user' if identity.attached else 'the session'}"
            f"{f' (its authentication classes: {classes})' if classes else ''} and {answered}."
        )
    words = challenge.split()
    scheme = words[0] if words and words[0].lower() in TOKEN_SCHEMES else None
    scheme = scheme or _token_scheme(authentication)
    if scheme:
        note += f" It takes credentials in a header: --header 'Authorization: {scheme} <key>'."
    return note


def _token_scheme(authentication: list[type]) -> str | None:
    """The Authorization scheme of the first token or JWT class: DRF's TokenAuthentication
    names its own (``keyword``); a JWT class takes Bearer."""
    for cls in authentication:
        keyword = getattr(cls, "keyword", None)
        if isinstance(keyword, str) and keyword:
            return keyword
        name = cls.__name__.lower()
        if "jwt" in name or "bearer" in name:
            return "Bearer"
        if "token" in name:
            return "Token"
    return None
