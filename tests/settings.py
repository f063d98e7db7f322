"""Settings of the test project: not the demo, with a custom user model keyed on email."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import django

BASE_DIR = Path(__file__).resolve().parent
# A real SQLite file database (not :memory:), one per test session.
DB_DIR = Path(os.environ.get("PROFILECMDS_TEST_DB_DIR", tempfile.gettempdir()))

SECRET_KEY = "tests-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["shop.example.com", ".example.com"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "tests.testapp.urls"
AUTH_USER_MODEL = "testapp.Member"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework.authtoken",
    "tests.testapp",
    "tests.nplusone",
    "django_profilecmds",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "tests.testapp.middleware.MarkerMiddleware",
    "tests.testapp.middleware.HandlerModeMiddleware",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DB_DIR / "profilecmds-tests.sqlite3"),
        "TEST": {"NAME": str(DB_DIR / f"profilecmds-test-{os.getpid()}.sqlite3")},
    },
    "audit": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DB_DIR / "profilecmds-tests-audit.sqlite3"),
        "TEST": {"NAME": str(DB_DIR / f"profilecmds-test-audit-{os.getpid()}.sqlite3")},
    },
}

# PROFILECMDS_TEST_DATABASE_URL=postgres://user:password@host:port/name (or ?host=/socket/dir)
# runs the suite against a real PostgreSQL server; tests/with_postgres.sh starts a throwaway one.
DATABASE_URL = os.environ.get("PROFILECMDS_TEST_DATABASE_URL")
if DATABASE_URL:
    url = urlsplit(DATABASE_URL)
    query = dict(parse_qsl(url.query))
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": url.path.lstrip("/") or "profilecmds",
        "USER": unquote(url.username or ""),
        "PASSWORD": unquote(url.password or ""),
        "HOST": query.get("host", url.hostname or ""),
        "PORT": str(url.port or ""),
    }

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# Email goes to SMTP on a port where nothing listens, so that a message the sandbox let out
# fails loudly; tests that need a server point these at tests/smtp_sink.py.
# Django 6.0 takes plain addresses (and deprecates the older pairs).
ADMINS: list[object] = (
    ["admin@example.com"] if django.VERSION >= (6, 0) else [("Admin", "admin@example.com")]
)
# The file-based backend writes to this directory: it must stay empty.
MAIL_DIR = DB_DIR / f"profilecmds-mail-{os.getpid()}"
if django.VERSION >= (6, 1):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9},
        },
        "second": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(MAIL_DIR)},
        },
    }
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = "127.0.0.1"
    EMAIL_PORT = 9

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Shared between processes, as a real cache is.
    "shared": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DB_DIR / f"profilecmds-cache-{os.getpid()}"),
    },
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = str(DB_DIR / f"profilecmds-media-{os.getpid()}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # The raising views are expected; their tracebacks are asserted, not logged.
    "loggers": {"django.request": {"level": "CRITICAL"}},
}
