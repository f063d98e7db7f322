from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand

from tests.testapp.models import Author, Book


class Command(BaseCommand):
    help = "Create books (writes rows and prints, for profile_command's tests)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--count", type=int, default=3)
        parser.add_argument("--ask", action="store_true", help="Ask for confirmation first.")

    def handle(self, *args: Any, count: int, ask: bool, **options: Any) -> None:
        if ask and input("Really create books? ") != "yes":
            return
        author = Author.objects.create(name="Batch")
        for number in range(count):
            Book.objects.create(title=f"Batch {number}", author=author)
        self.stdout.write(f"Created {count} books.")
        self.stderr.write("done")
