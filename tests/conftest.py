from __future__ import annotations

import pytest

from tests.testapp.models import Author, Book, Member


@pytest.fixture
def books(db):
    """Twelve books by three authors: the book list runs 1 + 12 queries."""
    authors = [Author.objects.create(name=f"Author {i}") for i in range(3)]
    return [Book.objects.create(title=f"Book {i}", author=authors[i % 3]) for i in range(12)]


@pytest.fixture
def member(db):
    return Member.objects.create_user("ada@example.com", "pw", name="Ada")
