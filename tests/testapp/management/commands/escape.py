from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Runs one of tests.testapp.escapes.ESCAPES by name."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        from tests.testapp.escapes import ESCAPES

        function, _refused = ESCAPES[name]
        self.stdout.write(function())
