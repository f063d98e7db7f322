from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django.views.generic import ListView

from tests.testapp.models import AuditEntry, Author, Book, Member


def book_list(request: HttpRequest) -> HttpResponse:
    # Deliberately an N+1: the template reads book.author for every row.
    return render(request, "testapp/book_list.html", {"books": Book.objects.all()})


class BookListView(ListView):  # type: ignore[type-arg]
    model = Book
    template_name = "testapp/book_list.html"
    context_object_name = "books"

    def get_queryset(self) -> Any:
        return Book.objects.order_by("id")


def book_authors(request: HttpRequest) -> JsonResponse:
    names = []
    for book in Book.objects.all():
        names.append(book.author.name)
    return JsonResponse({"authors": names})


@require_POST
def book_create(request: HttpRequest) -> HttpResponse:
    if request.content_type == "application/json":
        payload = json.loads(request.body)
    else:
        payload = request.POST.dict()
    author, _ = Author.objects.get_or_create(name=payload.get("author", "Anon"))
    book = Book.objects.create(title=payload["title"], author=author)
    AuditEntry.objects.using("audit").create(action=f"created {book.pk}")
    send_mail("New book", f"{book.title} was added.", "shop@example.com", ["staff@example.com"])
    return JsonResponse({"id": book.pk, "title": book.title}, status=201)


@login_required
def private(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"Hello {request.user.get_username()}")


def echo(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "method": request.method,
            "GET": {k: request.GET.getlist(k) for k in request.GET},
            "POST": {k: request.POST.getlist(k) for k in request.POST},
            "body": request.body.decode() if request.content_type == "application/json" else "",
            "content_type": request.content_type,
            "accept_language": request.headers.get("Accept-Language"),
            "custom": request.headers.get("X-Custom"),
            "secure": request.is_secure(),
            "host": request.get_host(),
            "user": request.user.get_username() if request.user.is_authenticated else None,
        }
    )


async def async_books(request: HttpRequest) -> JsonResponse:
    await asyncio.sleep(0.005)
    titles = [book.title async for book in Book.objects.all()]
    return JsonResponse({"titles": _shout(titles), "count": await Book.objects.acount()})


def _shout(titles: list[str]) -> list[str]:
    return [title.upper() for title in titles]


def explode(request: HttpRequest) -> HttpResponse:
    Book.objects.count()
    raise ValueError("the test view exploded")


def unavailable(request: HttpRequest) -> HttpResponse:
    return HttpResponse("down for maintenance", status=503)


def stream(request: HttpRequest) -> StreamingHttpResponse:
    def rows() -> Iterator[str]:
        for book in Book.objects.all():
            yield f"{book.pk},{book.title}\n"

    return StreamingHttpResponse(rows(), content_type="text/csv")


def on_commit_mail(request: HttpRequest) -> HttpResponse:
    with transaction.atomic():
        book = Book.objects.create(title="Committed", author=Author.objects.create(name="A"))
        transaction.on_commit(
            lambda: send_mail("After commit", "hi", "shop@example.com", ["a@example.com"])
        )
    return HttpResponse(str(book.pk))


def set_password(request: HttpRequest) -> HttpResponse:
    user = request.user
    user.set_password("planted-new-password")
    user.save()
    return HttpResponse("ok")


async def async_authors(request: HttpRequest) -> JsonResponse:
    names = []
    async for book in Book.objects.all():
        author = await Author.objects.aget(pk=book.author_id)  # one query per book
        names.append(author.name)
    return JsonResponse({"authors": names})


def steady(request: HttpRequest) -> HttpResponse:
    """Always about 3 ms: a view a before/after comparison must not flag."""
    time.sleep(0.003)
    return HttpResponse("steady")


def busy(request: HttpRequest) -> HttpResponse:
    """Its time is its own Python code's: the call tree shows it."""
    return HttpResponse(str(_crunch(60_000)))


async def async_busy(request: HttpRequest) -> HttpResponse:
    """Its work is sync code that Django runs on the thread that called ``async_to_sync``."""
    from asgiref.sync import sync_to_async

    return HttpResponse(str(await sync_to_async(_crunch)(60_000)))


def heavy_query(request: HttpRequest) -> HttpResponse:
    """Its time is one query's: the database counts to 300,000 (SQLite in this thread, a
    server in its own process)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) "
            "SELECT count(*) FROM c"
        )
        (count,) = cursor.fetchone()
    return HttpResponse(str(count))


def _crunch(n: int) -> int:
    total = 0
    for i in range(n):
        total = (total * 31 + i) % 1_000_003
    return total


def tunable(request: HttpRequest) -> HttpResponse:
    """As slow as ``settings.TESTAPP_TUNABLE_DELAY`` says: a view a test can slow down."""
    from django.conf import settings

    time.sleep(getattr(settings, "TESTAPP_TUNABLE_DELAY", 0.003))
    return HttpResponse("tunable")


def rotate_credentials() -> str:
    """Writes and looks up secrets the request never sent: only SQL parameters carry them."""
    from django.contrib.sessions.backends.db import SessionStore

    member = Member.objects.create(email="rotated@example.com", password="plain-secret-insert")
    Member.objects.filter(pk=member.pk).update(name="Rotated", password="plain-secret-update")
    Member.objects.filter(password__in=["plain-secret-where", "x"]).exists()
    session = SessionStore()
    session.create()
    return f"rotated {member.email}"


def escape(request: HttpRequest, name: str) -> HttpResponse:
    """Runs one of ``escapes.ESCAPES`` and answers 200 whatever happened."""
    from tests.testapp.escapes import ESCAPES

    function, _refused = ESCAPES[name]
    return HttpResponse(function())


def mail_every_way(request: HttpRequest) -> HttpResponse:
    """Sends one message through each way Django offers: 7 messages.

    On Django 6.1+ the last two go through the "second" mailer (file-based); before it, through
    a file-based backend named to ``get_connection()`` and an SMTP backend made by hand."""
    import django
    from django.core import mail
    from django.core.mail import EmailMessage, mail_admins, send_mass_mail

    send_mail("1 send_mail", "body", "shop@example.com", ["a@example.com"])
    send_mass_mail([("2 send_mass_mail", "body", "shop@example.com", ["b@example.com"])])
    EmailMessage("3 EmailMessage.send", "body", "shop@example.com", ["c@example.com"]).send()
    mail_admins("4 mail_admins", "body")
    mail.get_connection().send_messages(
        [EmailMessage("5 get_connection", "body", "shop@example.com", ["d@example.com"])]
    )
    explicit = EmailMessage("6 explicit backend", "body", "shop@example.com", ["e@example.com"])
    if django.VERSION >= (6, 1):
        mail.mailers["second"].send_messages([explicit])
        send_mail("7 using=second", "body", "shop@example.com", ["f@example.com"], using="second")
    else:
        from django.core.mail.backends.smtp import EmailBackend

        EmailBackend(host="127.0.0.1", port=settings.EMAIL_PORT).send_messages([explicit])
        filebased = "django.core.mail.backends.filebased.EmailBackend"
        mail.get_connection(filebased, file_path=str(settings.MAIL_DIR)).send_messages(
            [EmailMessage("7 file-based", "body", "shop@example.com", ["f@example.com"])]
        )
    return HttpResponse("sent")


def files(request: HttpRequest) -> JsonResponse:
    """Saves, overwrites and deletes through default_storage and the "exports" storage."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage, storages

    saved = default_storage.save("uploads/new.txt", ContentFile(b"new"))
    with default_storage.open("existing.txt", "wb") as handle:
        handle.write(b"overwritten")
    default_storage.delete("doomed.txt")
    storages["exports"].save("report.csv", ContentFile(b"a,b\n"))
    return JsonResponse(
        {
            "read_back": default_storage.open(saved).read().decode(),
            "overwritten": default_storage.open("existing.txt").read().decode(),
            "doomed_exists": default_storage.exists("doomed.txt"),
            "listed": sorted(default_storage.listdir("")[1]),
            "uploads": sorted(default_storage.listdir("uploads")[1]),
        }
    )


def cache_ops(request: HttpRequest) -> HttpResponse:
    """3 gets (1 hit, 2 misses), 2 sets and 1 delete on the "shared" cache."""
    from django.core.cache import caches

    shared = caches["shared"]
    shared.get("profilecmds-a")
    shared.set("profilecmds-a", 1)
    shared.get("profilecmds-a")
    shared.set("profilecmds-b", 2)
    shared.get("profilecmds-missing")
    shared.delete("profilecmds-b")
    return HttpResponse("cached")


def mail_late_backend(request: HttpRequest) -> HttpResponse:
    """A backend class defined during the run (a provider's module imported lazily)."""
    import smtplib

    from django.core.mail import EmailMessage
    from django.core.mail.backends.base import BaseEmailBackend

    class ProviderBackend(BaseEmailBackend):
        """Talks to its provider itself, as an API client would."""

        def send_messages(self, email_messages: Any) -> int:
            with smtplib.SMTP("127.0.0.1", int(request.GET["port"])) as client:
                for message in email_messages:
                    client.sendmail(message.from_email, message.to, message.message().as_bytes())
            return len(email_messages)

    ProviderBackend().send_messages(
        [EmailMessage("late", "body", "shop@example.com", ["g@example.com"])]
    )
    return HttpResponse("sent")


def files_adhoc(request: HttpRequest) -> HttpResponse:
    """Storages made in the view, as Django's upload example does."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import FileSystemStorage, storages

    FileSystemStorage().save("adhoc.txt", ContentFile(b"adhoc"))
    made = storages.create_storage(
        {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {}}
    )
    made.save("made.txt", ContentFile(b"made"))
    return HttpResponse("saved")


def make_session() -> str:
    """A session made outside any request (no cookie says so)."""
    from importlib import import_module

    engine: Any = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore()
    session["cart"] = [1, 2]
    session.create()
    return str(session.session_key)
