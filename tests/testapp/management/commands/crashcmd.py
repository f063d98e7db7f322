from __future__ import annotations

from typing import Any

from django_profilecmds.management.output import RedactedOutputCommand
from tests.testapp.leaks import LIVE_KEY


class Command(RedactedOutputCommand):
    help = "Fails with an unexpected exception whose message carries secrets."

    def handle(self, *args: Any, **options: Any) -> None:
        raise RuntimeError(f"connect failed: password=planted-crash-pw key {LIVE_KEY}")
