"""``--input`` factories that fail."""

from __future__ import annotations

NOT_CALLABLE = ["a", "list"]


def raising_factory() -> list[str]:
    """Writes a row, then raises: the row must not outlive the failed run."""
    from tests.testapp.models import Author

    Author.objects.create(name="Written by a failing factory")
    raise LookupError("no fixture data loaded")


def needs_an_argument(count: int) -> list[int]:
    return list(range(count))
