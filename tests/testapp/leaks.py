"""Views and functions that put secrets where a report could pick them up: each planted value
is one the redaction tests search for in every file and line the tool writes."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.db.models import Case, Count, F, Q, Value, When
from django.db.models.functions import Concat
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse

from tests.testapp.models import Account, Member

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
    """Fields as Django renders them, and as hand-written templates do."""
    return HttpResponse(
        '<form><input type="text" name="api_token" value="planted-form-token">'
        '<textarea name="private_key" rows="3">planted-textarea-key</textarea>'
        "<input name='api_token' value='planted-single-quoted'>"
        '<input value="planted-value-first" name="password">'
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


# Statements that put a credential where a column-blind redaction misses it: each case runs
# its SQL (raw, or as the ORM writes it) with the values planted for it.
SQL_CASES: dict[str, tuple[Callable[[], object], tuple[str, ...]]] = {}
ACCOUNT_COLUMNS = "username, password, api_token, otp_secret, note, active"


def sql_case(*planted: str) -> Callable[[Callable[[], object]], Callable[[], object]]:
    def register(function: Callable[[], object]) -> Callable[[], object]:
        SQL_CASES[function.__name__.replace("_", "-")] = (function, planted)
        return function

    return register


def run_sql_case(request: HttpRequest, name: str) -> JsonResponse:
    SQL_CASES[name][0]()
    return JsonResponse({"case": name})


def execute(sql: str, params: object = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@sql_case("PLANTED-named-7731")
def named_parameter() -> None:
    """A ``%(name)s`` parameter whose name says nothing of its column."""
    execute("SELECT id FROM testapp_account WHERE api_token = %(t)s", {"t": "PLANTED-named-7731"})


@sql_case("PLANTED-insert-literal")
def insert_literals() -> None:
    """An INSERT whose values are literals."""
    execute(
        f"INSERT INTO testapp_account ({ACCOUNT_COLUMNS})"
        " VALUES ('dave', 'x', 'PLANTED-insert-literal', '', '', true)"
    )


@sql_case("PLANTED-insert-mixed")
def insert_mixed() -> None:
    """An INSERT mixing literals and a parameter: the parameter is not the first column's."""
    execute(
        f"INSERT INTO testapp_account ({ACCOUNT_COLUMNS}) VALUES ('erin', 'x', %s, '', '', false)",
        ["PLANTED-insert-mixed"],
    )


@sql_case("PLANTED-select-literal", "PLANTED-select-param")
def insert_select() -> None:
    """INSERT ... SELECT: the select list gives the values, by position."""
    execute(
        f"INSERT INTO testapp_account ({ACCOUNT_COLUMNS})"
        " SELECT 'fred', 'x', 'PLANTED-select-literal', %s, '', false",
        ["PLANTED-select-param"],
    )


BULK_CREATED = ("PLANTED-bulk-created-1", "PLANTED-bulk-created-2")


def bulk_create_credentials(request: HttpRequest) -> JsonResponse:
    """Create members and accounts with bulk_create(), whose INSERT on PostgreSQL (Django 5.2+)
    passes one array per column through UNNEST, and show the new API tokens, as a page that
    issues them does."""
    Member.objects.bulk_create(
        Member(email=f"bulk-created{i}@example.com", password=value)
        for i, value in enumerate(BULK_CREATED)
    )
    accounts = [
        Account(username=f"bc{i}", api_token=f"{v}-token") for i, v in enumerate(BULK_CREATED)
    ]
    Account.objects.bulk_create(accounts)
    for account in accounts:
        account.api_token += "-rotated"
    Account.objects.bulk_create(
        accounts, update_conflicts=True, unique_fields=["username"], update_fields=["api_token"]
    )
    return JsonResponse({"issued": [account.api_token for account in accounts]})


@sql_case("PLANTED-range-low", "PLANTED-range-high")
def token_range() -> None:
    """__range: BETWEEN %s AND %s."""
    Account.objects.filter(api_token__range=("PLANTED-range-low", "PLANTED-range-high")).exists()


@sql_case("PLANTED-not-distinct")
def not_distinct_from() -> None:
    """IS NOT DISTINCT FROM: a comparison where a NULL equals a NULL."""
    execute(
        "SELECT id FROM testapp_account WHERE api_token IS NOT DISTINCT FROM %s",
        ["PLANTED-not-distinct"],
    )


@sql_case("PLANTED-first-param", "PLANTED-first-literal", "PLANTED-first-orm")
def value_first() -> None:
    """A value before the column it is compared with, in raw SQL and from the ORM."""
    execute("SELECT id FROM testapp_account WHERE %s = api_token", ["PLANTED-first-param"])
    execute("SELECT username FROM testapp_account WHERE 'PLANTED-first-literal' = api_token")
    Account.objects.alias(v=Value("PLANTED-first-orm")).filter(v=F("api_token")).exists()


UPDATES = tuple(f"PLANTED-update-{i}" for i in range(8))


@sql_case(*UPDATES)
def updates() -> None:
    """UPDATE with RETURNING, and the ORM's updates and conditions on a credential."""
    p = UPDATES
    Account.objects.create(username="gina", api_token="old", otp_secret="old")
    execute(
        "UPDATE testapp_account SET note = %s, api_token = %s WHERE username = %s RETURNING id",
        ["n", p[0], "gina"],
    )
    Account.objects.filter(Q(api_token=p[1]) | Q(username="gina")).update(
        api_token=Concat(F("username"), Value(p[2]))
    )
    Account.objects.filter(~Q(otp_secret=p[3]), username="gina").update(api_token=F("otp_secret"))
    Account.objects.update(
        api_token=Case(When(username="gina", then=Value(p[4])), default=F("api_token"))
    )
    Account.objects.filter(id__in=Account.objects.filter(api_token__in=[p[5], "x"])).exists()
    Account.objects.update_or_create(username="hank", defaults={"otp_secret": p[6]})
    Account.objects.filter(api_token__startswith=p[7]).annotate(n=Count("id")).exists()


@sql_case("PLANTED-row-value", "PLANTED-coalesced", "PLANTED-escaped")
def brackets() -> None:
    """A credential inside brackets before a comparison, and PostgreSQL's E'...' literal."""
    table = "testapp_account"
    execute(
        f"SELECT id FROM {table} WHERE (api_token, username) IN ((%s, %s))",
        ["PLANTED-row-value", "u"],
    )
    execute(f"SELECT id FROM {table} WHERE COALESCE(api_token, note) = %s", ["PLANTED-coalesced"])
    escaped = (
        "E'PLANTED-escaped\\'s'" if connection.vendor == "postgresql" else "'PLANTED-escaped''s'"
    )
    execute(f"SELECT id FROM {table} WHERE api_token = {escaped}")


@sql_case("PLANTED-commented", "PLANTED-in-array")
def comments_and_arrays() -> None:
    """A comment with a quote in it (as a query tagger writes one), and an ARRAY[...]."""
    execute(
        f"/* the owner's import */ INSERT INTO testapp_account ({ACCOUNT_COLUMNS})"
        " VALUES ('ivy', 'x', 'PLANTED-commented', '', '', true) -- it's tagged"
    )
    if connection.vendor == "postgresql":
        execute(
            "SELECT id FROM testapp_account WHERE api_token = ANY(ARRAY[%s, %s])",
            ["PLANTED-in-array", "x"],
        )


def print_sent(request: HttpRequest) -> HttpResponse:
    """Prints what it was sent while it runs, in pieces as print() writes them."""
    import logging
    import sys

    password = request.POST.get("password", "")
    print("got " + password + " end")
    print("password:", "planted-split-print")
    sys.stdout.write("api_key=")
    sys.stdout.write("planted-split-write\n")
    sys.stderr.write(f"the value {password}\n")
    logging.getLogger("tests.leaks").error("login with password %s", password)
    return HttpResponse("ok")


def named_from_data(request: HttpRequest) -> HttpResponse:
    """Functions, classes and files named from data appear in the call tree."""
    import time

    token = request.POST.get("api_token", "")
    namespace: dict[str, object] = {"time": time}
    source = f"def g_{token}():\n    time.sleep(0.02)\n    return 1\n"
    exec(compile(source, f"/srv/x?api_key={token}.py", "exec"), namespace)
    function = namespace[f"g_{token}"]
    assert callable(function)
    function()
    return HttpResponse("ok")


def echo_changed(request: HttpRequest) -> HttpResponse:
    """Echoes the sent password upper-cased, or very long and cut by the preview."""
    password = request.POST.get("password", "")
    mode = request.GET.get("mode")
    if mode == "raise":
        raise ValueError(password.upper())
    if mode == "long":
        return JsonResponse({"you_said": password})
    return HttpResponse(f"<p>{password.upper()}</p>")


def raw_credential_writes(request: HttpRequest) -> HttpResponse:
    verb = "REPLACE" if connection.vendor == "sqlite" else "INSERT"  # SQLite's upsert
    with connection.cursor() as cursor:
        cursor.execute(
            f"{verb} INTO testapp_account (id, username, password, api_token, otp_secret, note, "
            "active) VALUES (900, 'visible-user', 'planted-replace-1', 'planted-replace-2', 'x', "
            "'', TRUE)"
        )
        cursor.execute(
            "WITH t(v) AS (SELECT 'planted-with-3') "
            "UPDATE testapp_account SET api_token = (SELECT v FROM t) WHERE id = 900"
        )
    return HttpResponse("ok")
