"""Code that writes a row, says so, then waits: for the tests that interrupt a run.

The marker file (``PROFILECMDS_TEST_MARKER``) is written once the row is, so a test knows when
to press Ctrl-C; it holds the row's primary key.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.http import HttpRequest, HttpResponse

from tests.testapp.models import Author

NAME = "Written before Ctrl-C"


def create_author_then_wait(seconds: float = 60.0) -> None:
    author = Author.objects.create(name=NAME)
    Path(os.environ["PROFILECMDS_TEST_MARKER"]).write_text(str(author.pk))
    time.sleep(seconds)


def create_author_then_wait_view(request: HttpRequest) -> HttpResponse:
    create_author_then_wait()
    return HttpResponse("waited")


def create_author_then_interrupt() -> None:
    """As if Ctrl-C were pressed once the row is written."""
    Author.objects.create(name=NAME)
    raise KeyboardInterrupt
