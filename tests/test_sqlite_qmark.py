"""kaiku.lib.sqlite: the `%s` → `?` conversion is Django's, remembered per short query text."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import SQLiteCursorWrapper

from kaiku.lib.sqlite import base
from kaiku.responses.models import Response
from tests.base import BaseTestCase

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's backend")

QUERIES = [
    'SELECT "id" FROM "t" WHERE "a" = %s AND "b" IN (%s, %s)',
    "SELECT '100%%' || %s, '%%s' FROM t",
    "SELECT 1",
    "UPDATE t SET a = %s WHERE b LIKE '%%x%%' ESCAPE '\\'",
]


class ConversionTests(BaseTestCase):
    def django(self, query: str, names: list[str] | None = None) -> str:
        with connection.cursor() as cursor:
            return SQLiteCursorWrapper.convert_query(cursor.cursor, query, param_names=names)  # type: ignore[attr-defined]

    def ours(self, query: str, names: list[str] | None = None) -> str:
        with connection.cursor() as cursor:
            assert isinstance(cursor.cursor, base.CursorWrapper)
            return cursor.cursor.convert_query(query, param_names=names)

    def test_the_same_text_as_djangos(self) -> None:
        for query in QUERIES:
            assert self.ours(query) == self.django(query), query
            assert self.ours(query) == self.django(query), "and again, from the cache"
        named = "SELECT %(a)s, %(b)s, '%%'"
        assert (
            self.ours(named, ["a", "b"]) == self.django(named, ["a", "b"]) == "SELECT :a, :b, '%'"
        )

    def test_short_texts_are_kept_long_ones_are_not(self) -> None:
        base._qmark.cache_clear()
        self.ours(QUERIES[0])
        self.ours(QUERIES[0])
        assert base._qmark.cache_info().hits == 1
        long = "SELECT " + ", ".join(["%s"] * base.QMARK_CACHE_MAX_LENGTH)
        assert self.ours(long) == self.django(long)
        assert base._qmark.cache_info().currsize == 1

    def test_queries_run_through_it(self) -> None:
        base._qmark.cache_clear()
        for _ in range(2):
            assert not Response.objects.filter(score=11, comment="100%").exists()
        assert base._qmark.cache_info().hits >= 1
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s || '%%'", ["5"])
            assert cursor.fetchone() == ("5%",)
            cursor.execute("CREATE TEMP TABLE qmark (a text)")
            cursor.executemany("INSERT INTO qmark VALUES (%s || '%%')", [("1",), ("2",)])
            cursor.execute("SELECT a FROM qmark ORDER BY a")
            assert cursor.fetchall() == [("1%",), ("2%",)]
