"""Normalisation, grouping and N+1 hints: pure functions, tricky SQL."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_profilecmds.analysis.budgets import Budgets, check_budgets
from django_profilecmds.analysis.hints import hint_for
from django_profilecmds.analysis.sql import analyse, normalize
from django_profilecmds.collectors.relations import Relation
from django_profilecmds.collectors.sql import QueryRecord


@pytest.mark.parametrize(
    ("sql", "shape"),
    [
        ("SELECT * FROM t WHERE id IN (1, 2, 3)", "SELECT * FROM t WHERE id IN (...)"),
        ("SELECT * FROM t WHERE id IN (%s)", "SELECT * FROM t WHERE id IN (...)"),
        ("SELECT * FROM t WHERE id in (?,?,  ?)", "SELECT * FROM t WHERE id IN (...)"),
        # A placeholder inside a quoted string is part of the literal, not a parameter.
        (
            "SELECT * FROM t WHERE a = 'it''s %s' AND b = %s",
            "SELECT * FROM t WHERE a = ? AND b = ?",
        ),
        (
            "SELECT 1 -- trailing comment\nFROM t /* block\ncomment */ WHERE x = 2",
            "SELECT ? FROM t WHERE x = ?",
        ),
        ("SELECT\n  a,\n  b\nFROM\n  t\nWHERE  c = %(name)s", "SELECT a, b FROM t WHERE c = ?"),
        (
            'SELECT "t1"."c2" FROM "t1" WHERE "t1"."id" = $1',
            'SELECT "t1"."c2" FROM "t1" WHERE "t1"."id" = ?',
        ),
        ("SELECT a::text FROM t WHERE b = :b", "SELECT a::text FROM t WHERE b = ?"),
        ("SELECT -1.5e3, x1 FROM t", "SELECT -?, x1 FROM t"),
        ("INSERT INTO t (a, b) VALUES (%s, %s), (%s, %s)", "INSERT INTO t (a, b) VALUES (...)"),
        ('SELECT "weird""name" FROM t', 'SELECT "weird""name" FROM t'),
        # A number that names a column by its position is no literal.
        ("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1 ASC", None),
        ("SELECT a, COUNT(b) FROM t GROUP BY 1 ORDER BY 1 ASC, 2 DESC", None),
        (
            "SELECT a FROM t order by\n  2 desc nulls last, 1",
            "SELECT a FROM t order by 2 desc nulls last, 1",
        ),
        (
            "SELECT a FROM t GROUP BY 1 HAVING COUNT(*) > 5",
            "SELECT a FROM t GROUP BY 1 HAVING COUNT(*) > ?",
        ),
        ("SELECT a FROM t ORDER BY 1 LIMIT 21", "SELECT a FROM t ORDER BY 1 LIMIT ?"),
        ("SELECT a FROM t ORDER BY 1 LIMIT 5, 10", "SELECT a FROM t ORDER BY 1 LIMIT ?, ?"),
        # Numbers in an expression are literals, in ORDER BY as anywhere.
        ("SELECT a FROM t ORDER BY a + 1, 2 * b", "SELECT a FROM t ORDER BY a + ?, ? * b"),
        (
            "SELECT a FROM t ORDER BY COALESCE(a, 0), (1)",
            "SELECT a FROM t ORDER BY COALESCE(a, ?), (?)",
        ),
        (
            "SELECT a FROM t ORDER BY CASE WHEN a = 1 THEN 0 ELSE 1 END",
            "SELECT a FROM t ORDER BY CASE WHEN a = ? THEN ? ELSE ? END",
        ),
        (  # a window's ORDER BY 1 orders by the constant
            "SELECT ROW_NUMBER() OVER (ORDER BY 1) FROM t ORDER BY 1",
            "SELECT ROW_NUMBER() OVER (ORDER BY ?) FROM t ORDER BY 1",
        ),
        (
            "SELECT * FROM (SELECT a FROM t ORDER BY 1 DESC LIMIT 2) s",
            "SELECT * FROM (SELECT a FROM t ORDER BY 1 DESC LIMIT ?) s",
        ),
        ("SELECT a FROM t WHERE b = 1 ORDER BY 1", "SELECT a FROM t WHERE b = ? ORDER BY 1"),
        ("SELECT a FROM t ORDER/**/BY 1", "SELECT a FROM t ORDER BY 1"),
    ],
)
def test_normalize(sql, shape):
    shape = sql if shape is None else shape
    assert normalize(sql) == shape


id_lists = st.lists(st.integers(0, 10**9), min_size=1, max_size=40)
texts = st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=20)


@given(id_lists, id_lists)
def test_in_lists_of_any_length_share_a_shape(first, second):
    def sql(ids):
        return f"SELECT * FROM t WHERE id IN ({', '.join(map(str, ids))})"

    assert normalize(sql(first)) == normalize(sql(second))


@given(texts, texts)
def test_string_literals_never_change_the_shape(a, b):
    def sql(value):
        return "SELECT * FROM t WHERE name = '" + value.replace("'", "''") + "' AND x = %s"

    assert normalize(sql(a)) == normalize(sql(b)) == "SELECT * FROM t WHERE name = ? AND x = ?"


@given(st.text(max_size=200))
def test_normalize_is_idempotent_on_anything(sql):
    once = normalize(sql)
    assert normalize(once) == once


def record(sql, params=(), run=0, line=10, template=None, duration=0.001):
    return QueryRecord(
        "default",
        sql,
        params,
        False,
        duration,
        run,
        stack=[("/project/app/views.py", line, "view")],
        template=template,
    )


def test_similar_duplicates_and_nplusone_per_run():
    loop = 'SELECT "a"."id" FROM "a" WHERE "a"."id" = %s LIMIT 21'
    queries = []
    for run in range(2):
        queries.append(record('SELECT "b"."id" FROM "b"', run=run, line=5))
        queries += [record(loop, (i % 4,), run=run, template=("x.html", 3)) for i in range(6)]
    analysis = analyse(queries, runs=2, threshold=5)
    similar = analysis.groups[0]
    assert similar.count == 12 and similar.duplicates == 4  # ids 0 and 1 twice per run
    assert analysis.duplicates == 4 and analysis.per_run(analysis.duplicates) == 2
    (flag,) = analysis.nplusone
    assert flag.count == 6  # per run, not summed over runs
    assert flag.template == "x.html:3"
    assert analyse(queries, runs=2, threshold=7).nplusone == []


def test_same_shape_from_different_lines_is_not_one_nplusone():
    sql = 'SELECT "a"."id" FROM "a" WHERE "a"."id" = %s'
    queries = [record(sql, (i,), line=10 + i % 2) for i in range(8)]
    assert analyse(queries, runs=1, threshold=5).nplusone == []


@pytest.mark.django_db
def test_hints_name_the_relation_the_code_read():
    forward = Relation("forward", "testapp.Book", "author", "testapp.Author")
    hint = hint_for(forward, "SELECT …", "book_list", [])
    assert hint.text.startswith('Add select_related("author") to the Book queryset')
    reverse = Relation("many", "testapp.Author", "books", "testapp.Book")
    assert 'prefetch_related("books") to the Author queryset' in hint_for(reverse, "", "f", []).text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "relation",
    [
        Relation("forward", "testapp.Book", "writer", "testapp.Author"),  # no such field
        Relation("many", "testapp.Book", "article", "testapp.Book"),  # no such relation
        Relation("many", "testapp.Author", "name", None),  # a field, not a relation
        Relation("deferred", "testapp.Book", "nothing", None),
    ],
)
def test_a_lookup_django_does_not_accept_is_never_printed(relation):
    hint = hint_for(relation, "SELECT …", "view", [])
    assert hint.fix is None
    assert "select_related(" not in hint.text and "prefetch_related(" not in hint.text
    assert f'"{relation.lookup}"' not in hint.text


def test_budgets_say_what_failed_and_by_how_much():
    budgets = Budgets(max_queries=10, max_duplicates=0, max_db_time_ms=5)
    assert check_budgets(budgets, queries=10, duplicates=0, db_time_ms=5.0) == []
    failures = check_budgets(budgets, queries=13, duplicates=2, db_time_ms=7.25)
    assert failures == [
        "--max-queries 10: 13 queries per run (3 over).",
        "--max-duplicates 0: 2 duplicate queries per run (2 over).",
        "--max-db-time-ms 5: 7.2 ms in the database per run (2.2 ms over).",
    ]
