from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Connects with credentials given on the command line, and says so."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--api-key")
        parser.add_argument("--password")

    def handle(self, *args: Any, api_key: str, password: str, **options: Any) -> None:
        self.stdout.write(f"connected with {api_key} and {password}")
