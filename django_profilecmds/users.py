"""Find the user named by ``--user`` and log them in the way a browser would be."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from django_profilecmds.exceptions import UserNotFound


@dataclass
class Identity:
    """The authenticated user for a run, and the session cookie that carries them."""

    user: Any
    description: str
    session_key: str | None
    session_cookie: str | None


def resolve_user(identifier: str) -> Any:
    """Find a user by primary key, then ``USERNAME_FIELD``, then email address."""
    if not identifier.strip():
        # A blank email or username would otherwise match a user who has none.
        raise UserNotFound("--user is empty: give a primary key, username or email address.")
    user_model = get_user_model()
    manager = user_model._default_manager
    try:
        pk = user_model._meta.pk.to_python(identifier)
    except (ValidationError, ValueError, TypeError):
        pk = None
    if pk is not None:
        user = manager.filter(pk=pk).first()
        if user is not None:
            return user
    username_field = user_model.USERNAME_FIELD
    user = manager.filter(**{username_field: identifier}).first()
    if user is not None:
        return user
    tried = ["primary key", username_field]
    email_field = user_model.get_email_field_name()
    if any(f.name == email_field for f in user_model._meta.get_fields()):
        tried.append(email_field)
        matches = list(manager.filter(**{f"{email_field}__iexact": identifier})[:2])
        if len(matches) > 1:
            raise UserNotFound(
                f"More than one user has the email {identifier!r}; "
                f"use the primary key or the {username_field} instead."
            )
        if matches:
            return matches[0]
    names = [str(n) for n in manager.values_list(username_field, flat=True)[:5000]]
    close = difflib.get_close_matches(identifier, names, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    tried = list(dict.fromkeys(tried))  # USERNAME_FIELD may be the email field itself
    fields = ", ".join(tried[:-1]) + f" and {tried[-1]}"
    raise UserNotFound(f"No user matches --user {identifier!r} (tried {fields}).{hint}")


def describe_user(user: AbstractBaseUser) -> str:
    return f"{user.get_username()} (pk={user.pk})"


def log_in(user: Any) -> Identity:
    """Create a real session for ``user``, as ``Client.force_login`` does.

    The session row is written inside the run's rolled-back transaction, so it leaves no trace.
    Without ``SessionMiddleware`` the user is attached to each request directly instead.
    """
    description = describe_user(user)
    if not has_session_middleware():
        return Identity(user, description, session_key=None, session_cookie=None)
    from django.contrib.auth import login

    engine: Any = import_module(settings.SESSION_ENGINE)
    request = HttpRequest()
    request.session = engine.SessionStore()
    login(request, user, backend=_backend_for(user))
    request.session.save()
    return Identity(user, description, request.session.session_key, settings.SESSION_COOKIE_NAME)


def has_session_middleware() -> bool:
    """SessionMiddleware, or a subclass of it, is in MIDDLEWARE."""
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.utils.module_loading import import_string

    for path in settings.MIDDLEWARE:
        try:
            middleware = import_string(path)
        except ImportError:
            continue
        if isinstance(middleware, type) and issubclass(middleware, SessionMiddleware):
            return True
    return False


def _backend_for(user: AbstractBaseUser) -> str:
    # The first backend able to load users back from the session, as force_login picks it.
    from django.contrib.auth import load_backend

    for path in settings.AUTHENTICATION_BACKENDS:
        if hasattr(load_backend(path), "get_user"):
            return path
    return settings.AUTHENTICATION_BACKENDS[0]
