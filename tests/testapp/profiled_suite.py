"""A tiny test suite for ``profile_command test`` to run with Django's own test runner.

Named so that pytest does not collect it: it is run by the runner in a process of its own.
"""

from __future__ import annotations

from typing import Any

from django.core import mail
from django.core.mail import EmailMessage, send_mail
from django.core.mail.backends.smtp import EmailBackend
from django.test import TestCase
from django.test.runner import DiscoverRunner

from tests.testapp.models import Author

ROW = "Written by a test"


class WritesAndSends(TestCase):
    databases = {"default", "audit"}

    def test_writes_a_row_and_sends_email(self) -> None:
        Author.objects.create(name=ROW)
        send_mail("configured", "body", "shop@example.com", ["a@example.com"])
        # Port 9: a message that escaped the capture would fail to connect.
        by_hand = EmailBackend(host="127.0.0.1", port=9, alias="by-hand")
        by_hand.send_messages([EmailMessage("by hand", "body", "shop@example.com", ["b@x.y"])])
        self.assertEqual(len(mail.outbox), 2)
        self.assertEqual(Author.objects.filter(name=ROW).count(), 1)


class NoDatabaseRunner(DiscoverRunner):
    """A runner that makes no test databases, as some projects use: its tests would write to
    the project's own databases."""

    def setup_databases(self, **kwargs: Any) -> list[Any]:
        return []

    def teardown_databases(self, old_config: Any, **kwargs: Any) -> None:
        return None
