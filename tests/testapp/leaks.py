"""Views and functions that put secrets where a report could pick them up: each planted value
is one the redaction tests search for in every file and line the tool writes."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse

from tests.testapp.models import Member

CONTAINS = "planted-contains-3141"
IEXACT = "Planted-IExact-2718"  # mixed case: PostgreSQL folds UPPER('...') in plans
BULK = ("planted-bulk-one", "planted-bulk-two")
LIVE_KEY = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
LOCATION_TOKEN = "planted-location-token"
DEBUG_AUTH = "planted-debug-auth"


def password_lookups(request: HttpRequest) -> JsonResponse:
    """Look users up by their password column with LIKE and case-insensitive lookups."""
    found = [
        Member.objects.filter(password__contains=CONTAINS).exists(),
        Member.objects.filter(password__iexact=IEXACT).exists(),
        Member.objects.filter(password__startswith=CONTAINS).exists(),
    ]
    return JsonResponse({"found": found})


def bulk_passwords(request: HttpRequest) -> JsonResponse:
    """Set two credentials with bulk_update(), whose UPDATE is a CASE WHEN per row."""
    members = [Member.objects.create(email=f"bulk{i}@example.com") for i in range(2)]
    for member, value in zip(members, BULK, strict=True):
        member.password = value
    Member.objects.bulk_update(members, ["password"])
    return JsonResponse({"updated": len(members)})


def fail_with_secret(request: HttpRequest) -> HttpResponse:
    raise ValueError(f"login failed for password=planted-exc-pass key={LIVE_KEY}")


def login(password: str) -> None:
    """A callable for profile_call whose exception carries its argument."""
    raise ValueError(f"login failed for password={password} with key {LIVE_KEY}")


def show_settings(request: HttpRequest) -> HttpResponse:
    """A page that shows settings, as a misconfigured debug view would."""
    names = ["SECRET_KEY", "SMTP_RELAY_PASSWORD", "PAYMENT", "REDIS_PASSWORD", "DEBUG"]
    lines = [f"{name} = {getattr(settings, name, None)!r}" for name in names]
    return HttpResponse("\n".join(lines), content_type="text/plain")


def redirect_with_token(request: HttpRequest) -> HttpResponse:
    response = HttpResponseRedirect(f"/reset/?token={LOCATION_TOKEN}&step=2")
    response["X-Debug-Auth"] = DEBUG_AUTH
    return response


def echo_headers(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"x_auth": request.headers.get("X-Auth"), "form": request.POST.dict()})


def reset_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """Shaped like Django's PasswordResetConfirmView: the token is part of the path."""
    return HttpResponse(f"reset link for {uidb64}")


def fail_with_escapes(request: HttpRequest) -> HttpResponse:
    """An exception whose message (from stored data, say) holds terminal escape sequences."""
    raise ValueError("bad row: \x1b]0;pwned\x07\x1b[2J\x1b]52;c;ZWNobyBoaQ==\x07\u202edone")


def integrity_detail(request: HttpRequest) -> HttpResponse:
    """What PostgreSQL says of a unique violation: another row's value, never bound here."""
    from django.db import IntegrityError

    raise IntegrityError(
        'duplicate key value violates unique constraint "u_token"\n'
        "DETAIL:  Key (api_token)=(planted-detail-token) already exists."
    )


def nested_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "credentials": {"user": "bob", "value": "planted-cred-value"},
            "secrets": [["planted-nested-list"]],
            "tokens": {"github": "planted-token-dict"},
            "public": {"name": "visible-name"},
        }
    )


def truncated_json(request: HttpRequest) -> HttpResponse:
    """A JSON body longer than the report's preview, with a token where the preview ends."""
    body = '{"filler": "' + "a" * 1960 + '", "api_token": "planted-truncated-token"}'
    return HttpResponse(body, content_type="application/json")


def form_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        '<form><input type="text" name="api_token" value="planted-form-token">'
        '<textarea name="private_key" rows="3">planted-textarea-key</textarea>'
        '<input type="text" name="city" value="visible-city"></form>'
    )


def echo_html(request: HttpRequest) -> HttpResponse:
    from django.template import engines

    template = engines["django"].from_string("<p>You said {{ pw }}</p>")
    return HttpResponse(template.render({"pw": request.POST.get("password", "")}))


def logs_and_prints(request: HttpRequest) -> HttpResponse:
    import logging
    import sys

    print("connecting with password=planted-print-pass")
    sys.stderr.write("token=planted-stderr-token\n")
    logging.getLogger("tests.leaks").warning("api_key=planted-log-key")
    return HttpResponse("ok")


def keyed() -> int:
    """Source lines that hold credentials, as lineprof shows them."""
    api_key: str = "planted-annotated-1"
    PASSWORD = f"planted-fstring-{2}"  # noqa: N806
    password = """planted-triple-3"""
    cache = "redis://:planted-url-4@localhost/0"
    database = "postgres://app:planted/url-5@db/x"
    secret = b"planted-bytes-6"
    return len(api_key + PASSWORD + password + cache + database) + len(secret)


def login_positional(user: str, password: str) -> None:
    """Called with --args '["bob", "..."]': the password arrives by position."""
    raise ValueError("wrong credentials")


def failing_input() -> None:
    raise RuntimeError("a" * 270 + " {'password': 'planted-long-cut-password-value'}")
