from __future__ import annotations

from django.urls import path

from tests.testapp import leaks, views, waiting

urlpatterns = [
    path("books/", views.book_list, name="book-list"),
    path("books/cbv/", views.BookListView.as_view(), name="book-list-cbv"),
    path("books/authors/", views.book_authors, name="book-authors"),
    path("books/create/", views.book_create, name="book-create"),
    path("books/<int:pk>/", views.echo, name="book-detail"),
    path("private/", views.private, name="private"),
    path("echo/", views.echo, name="echo"),
    path("async/", views.async_books, name="async-books"),
    path("async/authors/", views.async_authors, name="async-authors"),
    path("explode/", views.explode, name="explode"),
    path("unavailable/", views.unavailable, name="unavailable"),
    path("stream/", views.stream, name="stream"),
    path("on-commit/", views.on_commit_mail, name="on-commit"),
    path("set-password/", views.set_password, name="set-password"),
    path("timed/steady/", views.steady, name="steady"),
    path("timed/tunable/", views.tunable, name="tunable"),
    path("escape/<str:name>/", views.escape, name="escape"),
    path("mail/every-way/", views.mail_every_way, name="mail-every-way"),
    path("mail/late-backend/", views.mail_late_backend, name="mail-late-backend"),
    path("files/", views.files, name="files"),
    path("files/adhoc/", views.files_adhoc, name="files-adhoc"),
    path("cache/", views.cache_ops, name="cache"),
    path("leaks/lookups/", leaks.password_lookups),
    path("leaks/bulk/", leaks.bulk_passwords),
    path("leaks/fail/", leaks.fail_with_secret),
    path("leaks/escapes/", leaks.fail_with_escapes),
    path("leaks/settings/", leaks.show_settings),
    path("leaks/redirect/", leaks.redirect_with_token),
    path("leaks/headers/", leaks.echo_headers),
    path("leaks/reset/<uidb64>/<token>/", leaks.reset_confirm),
    path("leaks/bulk-create/", leaks.bulk_create_credentials),
    path("leaks/sql/<str:name>/", leaks.run_sql_case),
    path("wait/", waiting.create_author_then_wait_view, name="wait"),
]
