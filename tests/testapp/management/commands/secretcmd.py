from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Connects with credentials given on the command line, and says so."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--api-key")
        parser.add_argument("--password", "-p")
        parser.add_argument("--token")
        parser.add_argument("--auth", nargs=2)

    def handle(self, *args: Any, **options: Any) -> None:
        values = [options[name] for name in ("api_key", "password", "token", "auth")]
        self.stdout.write(f"connected with {values}")
