from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Asks before it works unless given --no-input, an option of its own (not Django's "
        "interactive=False); --interactive asks more, for the prompt tests."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--no-input", dest="assume_yes", action="store_true")
        parser.add_argument("--interactive", action="store_true", help="Ask every question.")

    def handle(self, *args: Any, assume_yes: bool, interactive: bool, **options: Any) -> None:
        if not assume_yes and input("Go on? ") != "yes":
            return
        self.stdout.write("Done.")
