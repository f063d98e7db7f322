"""Functions of every kind, for the line profiler's tests."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection

from tests.testapp.models import Author, Book

NOT_A_FUNCTION = 42


def author_names() -> list[str]:
    names = []
    for book in Book.objects.all():
        names.append(book.author.name)  # one query per book: the N+1
    return names


def queries_then_arithmetic(n: int) -> int:
    total = 0
    with connection.cursor() as cursor:
        for i in range(n):
            cursor.execute("SELECT COUNT(*) FROM testapp_book WHERE id > %s", [i])
            total += i  # no call between the query and this line
            if total % 2:
                total += 1
    return total


def arithmetic(n: int, scale: int = 1) -> int:
    total = 0
    for i in range(n):
        if i % 3 == 0:
            total += i * scale
        else:
            total -= 1
    return total


def shout(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return str(function(*args, **kwargs)).upper()

    return wrapper


@shout
def greet(name: str) -> str:
    return f"hello {name}"


def numbers(n: int) -> Iterator[int]:
    for i in range(n):
        yield i * 2


async def slow_count() -> int:
    await asyncio.sleep(0)
    return await Book.objects.acount()


def book_count() -> int:
    return Book.objects.count()


class Shelf:
    label = "shelf"

    def titles(self) -> list[str]:
        return [book.title for book in Book.objects.all()]

    @property
    def size(self) -> int:
        return Book.objects.count()

    @staticmethod
    def unit() -> str:
        return "book"

    @classmethod
    def build(cls) -> Shelf:
        return cls()


class LabelledShelf(Shelf):
    def label_text(self) -> str:
        return self.label.title()


class Empty:
    colour = "red"


def use_shelf() -> tuple[int, list[str], str, str]:
    shelf = Shelf.build()
    labelled = LabelledShelf()
    return shelf.size, shelf.titles(), Shelf.unit(), labelled.label_text()


def create_book(title: str) -> int:
    author, _ = Author.objects.get_or_create(name="Called")
    return Book.objects.create(title=title, author=author).pk


async def async_titles(limit: int = 5) -> list[str]:
    return [book.title async for book in Book.objects.order_by("id")[:limit]]


def explode() -> None:
    raise RuntimeError("called function exploded")


def cached_catalogue() -> dict[str, Any]:
    """Three queries on a cache miss, none once the cache holds the catalogue."""
    from django.core.cache import cache

    catalogue: dict[str, Any] | None = cache.get("catalogue")
    if catalogue is None:
        catalogue = {
            "books": Book.objects.count(),
            "authors": Author.objects.count(),
            "titles": list(Book.objects.values_list("title", flat=True)[:3]),
        }
        cache.set("catalogue", catalogue)
    return catalogue


def shelve_books(count: int) -> int:
    """One INSERT of ``count`` rows (RETURNING their keys where the database can), then one
    UPDATE of the same rows."""
    author = Author.objects.create(name="Shelver")
    Book.objects.bulk_create(Book(title=f"Shelved {i}", author=author) for i in range(count))
    return Book.objects.filter(author=author).update(title="Shelved")


def titles_and_names() -> tuple[list[str], list[dict[str, Any]]]:
    """Querysets whose SQL names columns by position: a union ordered by a column
    (ORDER BY 1 ASC) and counts grouped by a value (GROUP BY 1)."""
    from django.db.models import Count

    names = (
        Book.objects.order_by()
        .values_list("title", flat=True)
        .union(Author.objects.values_list("name", flat=True))
    )
    per_author = Book.objects.values("author").annotate(books=Count("id")).order_by("author")
    return list(names.order_by("title")), list(per_author)
