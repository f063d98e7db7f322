"""Code that does to ``mail.outbox`` what Django's test runner does around a test run."""

from __future__ import annotations

from django.core import mail
from django.core.mail import EmailMessage, send_mail
from django.core.mail.backends.smtp import EmailBackend


def send_both_ways(subject: str) -> None:
    """Through the configured backend, and through an SMTP backend made by hand (port 9: a
    message that escaped the capture would fail to connect)."""
    # Named, so that Django 6.1 takes the options given rather than the EMAIL_* settings.
    smtp = EmailBackend(host="127.0.0.1", port=9, alias="by-hand")
    smtp.send_messages([EmailMessage(f"{subject} by hand", "body", "shop@example.com", ["b@x.y"])])
    send_mail(f"{subject} configured", "body", "shop@example.com", ["a@example.com"])


def replace_then_delete_mail_outbox() -> None:
    """setup_test_environment() gives mail.outbox a new list and the tests read that list;
    teardown_test_environment() deletes it."""
    mail.outbox = []
    send_both_ways("replaced")
    assert len(mail.outbox) == 2, "the code's own mail.outbox must see its messages"
    del mail.outbox
    send_both_ways("deleted")
