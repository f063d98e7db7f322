"""What a run does beyond the database stays in the sandbox: email, files, caches, sessions."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import django
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from tests.smtp_sink import smtp_sink

pytestmark = pytest.mark.django_db(databases="__all__")

MESSAGES = 7


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        status = 0
    except CommandError as exc:
        status = exc.returncode
        err.write(f"CommandError: {exc}\n")
    return status, out.getvalue(), err.getvalue()


def mail_settings(port: int, directory: Path) -> override_settings:
    """Every configured way to send email points at the sink, or at ``directory``."""
    smtp = "django.core.mail.backends.smtp.EmailBackend"
    if django.VERSION >= (6, 1):
        filebased = "django.core.mail.backends.filebased.EmailBackend"
        return override_settings(
            MAILERS={
                "default": {"BACKEND": smtp, "OPTIONS": {"host": "127.0.0.1", "port": port}},
                "second": {"BACKEND": filebased, "OPTIONS": {"file_path": str(directory)}},
            }
        )
    return override_settings(
        EMAIL_BACKEND=smtp, EMAIL_HOST="127.0.0.1", EMAIL_PORT=port, MAIL_DIR=directory
    )


@pytest.mark.parametrize("command", ["profile_view", "profile_replay"])
def test_no_email_reaches_the_smtp_server_whichever_way_it_is_sent(tmp_path, command):
    log = tmp_path / "access.log"
    log.write_text(
        '1.2.3.4 - - [20/Nov/2026:10:00:00 +0000] "GET /mail/every-way/ HTTP/1.1" 200 4\n'
    )
    directory = tmp_path / "mail"
    directory.mkdir()
    with smtp_sink() as sink, mail_settings(sink.port, directory):
        if command == "profile_view":
            status, out, err = run("profile_view", "/mail/every-way/", "--no-files")
        else:
            status, out, err = run("profile_replay", str(log), "--no-files")
    assert status == 0, err
    assert sink.messages == [] and sink.connections == 0
    assert list(directory.iterdir()) == []
    assert f"{MESSAGES} emails captured, not sent" in out


def test_a_backend_class_defined_during_the_run_sends_nothing(tmp_path):
    with smtp_sink() as sink:
        path = f"/mail/late-backend/?port={sink.port}"
        status, out, err = run("profile_view", path, "--no-files")
    assert status == 0, err
    assert sink.messages == [] and sink.connections == 0
    assert "1 email captured, not sent" in out


def test_send_email_sends_every_message_through_the_project_configuration(tmp_path):
    with smtp_sink() as sink, mail_settings(sink.port, tmp_path):
        status, out, err = run("profile_view", "/mail/every-way/", "--no-files", "--send-email")
    assert status == 0, err
    # Messages 6 and 7 go through the "second" (file-based) mailer on 6.1, message 6 through
    # SMTP before; the file-based backend writes a file per connection.
    on_files = 2 if django.VERSION >= (6, 1) else 1
    assert len(sink.messages) == MESSAGES - on_files
    assert len(list(tmp_path.glob("*.log"))) == on_files
    assert "email sent for real (--send-email, not counted)" in out


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def storages_in(tmp_path):
    media, exports = tmp_path / "media", tmp_path / "exports"
    media.mkdir()
    exports.mkdir()
    (media / "existing.txt").write_bytes(b"original")
    (media / "doomed.txt").write_bytes(b"still here")
    (media / "uploads").mkdir()
    (media / "uploads" / "old.txt").write_bytes(b"old")
    fs = "django.core.files.storage.FileSystemStorage"
    with override_settings(
        STORAGES={
            "default": {"BACKEND": fs, "OPTIONS": {"location": str(media)}},
            "exports": {"BACKEND": fs, "OPTIONS": {"location": str(exports)}},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ):
        yield media, exports


def test_storage_writes_and_deletes_leave_the_real_storage_as_it_was(storages_in, tmp_path):
    from django_profilecmds import profile_request

    media, exports = storages_in
    before = (tree(media), tree(exports))
    status, out, err = run("profile_view", "/files/", "--no-files")
    assert status == 0, err
    assert (tree(media), tree(exports)) == before
    assert "3 files written and 1 file deleted, discarded." in out
    result = profile_request("/files/")
    assert (tree(media), tree(exports)) == before
    # Inside the run the view saw its own writes.
    assert json.loads(result.response.body_preview) == {
        "read_back": "new",
        "overwritten": "overwritten",
        "doomed_exists": False,
        "listed": ["existing.txt"],
        "uploads": ["new.txt", "old.txt"],  # the real file and the one the run wrote
    }
    assert sorted(result.files_written) == ["existing.txt", "report.csv", "uploads/new.txt"]
    assert result.files_deleted == ["doomed.txt"]


def test_storages_made_during_the_run_write_nothing(storages_in, settings):
    media, _exports = storages_in
    settings.MEDIA_ROOT = str(media)
    before = tree(media)
    status, out, err = run("profile_view", "/files/adhoc/", "--no-files")
    assert status == 0, err
    assert tree(media) == before
    assert "2 files written, discarded." in out


def test_commit_keeps_the_files_and_says_so(storages_in):
    media, exports = storages_in
    status, out, err = run("profile_view", "/files/", "--no-files", "--commit")
    assert status == 0, err
    assert "3 files written and 1 file deleted, KEPT." in out
    assert tree(media) == {
        "existing.txt": b"overwritten",
        "uploads/new.txt": b"new",
        "uploads/old.txt": b"old",
    }
    assert tree(exports) == {"report.csv": b"a,b\n"}


@pytest.fixture
def shared_cache(tmp_path):
    location = tmp_path / "cache"
    config = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(location),
        },
    }
    with override_settings(CACHES=config):
        yield location


def test_cache_operations_are_counted_and_their_writes_reported(shared_cache):
    from django_profilecmds import profile_request

    status, out, err = run(
        "profile_view", "/cache/", "--no-files", "--warmup", "0", "--shared-cache"
    )
    assert status == 0, err
    assert "cache shared: 3 gets (1 hits, 2 misses) · 2 sets · 1 delete" in out
    assert "(--shared-cache: these writes to the project's caches are kept)" in out
    result = profile_request("/cache/", isolate_cache=False)
    shared = next(stats for stats in result.caches if stats["alias"] == "shared")
    assert {k: shared[k] for k in ("gets", "hits", "misses", "sets", "deletes")} == {
        "gets": 3,
        "hits": 2,  # profilecmds-a is in the shared cache since the first run
        "misses": 1,
        "sets": 2,
        "deletes": 1,
    }
    assert json.loads(json.dumps(result.to_dict()))["caches"][0]["alias"] == "shared"


@pytest.mark.parametrize("flags", [[], ["--isolate-cache"]], ids=["default", "isolate-cache"])
def test_by_default_the_project_caches_are_left_untouched(shared_cache, flags):
    from django.core.cache import caches

    caches["shared"].set("profilecmds-a", "from production")
    before = tree(shared_cache)
    status, out, err = run("profile_view", "/cache/", "--no-files", "--warmup", "0", *flags)
    assert status == 0, err
    assert tree(shared_cache) == before
    assert caches["shared"].get("profilecmds-a") == "from production"
    assert "cache shared: 3 gets (1 hits, 2 misses) · 2 sets · 1 delete" in out
    assert "(private in-memory caches, discarded)" in out


def test_the_warm_up_fills_the_private_caches_for_the_counted_run(shared_cache):
    before = tree(shared_cache)
    status, out, err = run("profile_view", "/cache/", "--no-files")
    assert status == 0, err
    assert tree(shared_cache) == before  # neither run wrote the project's cache
    # The view sets profilecmds-a: the counted run finds it, as a second request would.
    assert "cache shared: 3 gets (2 hits, 1 miss" in out


@pytest.mark.parametrize(
    "engine",
    [
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cache",
        "django.contrib.sessions.backends.cached_db",
        "django.contrib.sessions.backends.file",
        "django.contrib.sessions.backends.signed_cookies",
    ],
)
def test_the_session_that_logs_the_user_in_leaves_no_trace(member, shared_cache, tmp_path, engine):
    from django.contrib.sessions.models import Session

    sessions = tmp_path / "sessions"
    sessions.mkdir()
    with override_settings(
        SESSION_ENGINE=engine, SESSION_FILE_PATH=str(sessions), SESSION_CACHE_ALIAS="shared"
    ):
        status, out, err = run("profile_view", "/private/", "--user", str(member.pk), "--no-files")
    assert status == 0, err
    assert "200 OK" in out and "as ada@example.com" in out
    assert list(sessions.iterdir()) == []
    assert tree(shared_cache) == {}
    assert Session.objects.count() == 0


def test_a_session_made_without_a_cookie_leaves_no_trace_and_older_ones_stay(tmp_path):
    from importlib import import_module

    sessions = tmp_path / "sessions"
    sessions.mkdir()
    engine = "django.contrib.sessions.backends.file"
    with override_settings(SESSION_ENGINE=engine, SESSION_FILE_PATH=str(sessions)):
        older = import_module(engine).SessionStore()
        older.create()
        before = sorted(path.name for path in sessions.iterdir())
        status, out, err = run("profile_call", "tests.testapp.views.make_session", "--no-files")
    assert status == 0, err
    assert sorted(path.name for path in sessions.iterdir()) == before  # only the older one


def test_capture_holds_when_the_code_replaces_or_deletes_mail_outbox():
    from django.core import mail

    outbox = mail.outbox  # pytest-django's, restored after the run
    status, out, err = run(
        "profile_call",
        "tests.testapp.hostile.outbox.replace_then_delete_mail_outbox",
        "-v2",
        "--no-files",
    )
    assert status == 0, err
    assert "4 emails captured, not sent" in out
    for subject in ("replaced by hand", "replaced configured", "deleted by hand"):
        assert f"email: '{subject}'" in out
    assert mail.outbox is outbox and outbox == []
