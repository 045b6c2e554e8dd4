"""PostgreSQL timestamps read by psycopg's C loader (kaiku/lib/postgresql/base.py).

The values must be exactly what Django's own loader gives: aware datetimes in UTC,
microseconds kept, whatever offset they were written with; NULL stays None; and a
connection in another zone (USE_TZ off) gets Django's loader back.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.test import override_settings

from kaiku.lib.postgresql.base import UtcTimestamptzLoader, fast_loader

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

VALUES = [
    "2024-03-05 12:34:56.123456+03",
    "2024-10-27 01:30:00-05",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "2026-02-28 23:59:59.5+14",
]
SQL = "SELECT " + ", ".join(f"'{v}'::timestamptz" for v in VALUES) + ", NULL::timestamptz"


def _read(djangos_loader: bool) -> tuple[object, ...]:
    with connection.cursor() as cursor:
        if djangos_loader:
            register_tzloader(datetime.UTC, cursor.cursor)  # on this cursor only
        cursor.execute(SQL)
        return tuple(cursor.fetchone())


def test_the_fast_loader_is_in_use() -> None:
    assert fast_loader() is UtcTimestamptzLoader  # psycopg-binary is a pinned requirement
    with connection.cursor() as cursor:
        assert cursor.cursor.adapters.get_loader(1184, 0) is UtcTimestamptzLoader


def test_values_equal_djangos_loader() -> None:
    fast = _read(djangos_loader=False)
    assert fast == _read(djangos_loader=True)
    assert fast[-1] is None
    first = fast[0]
    assert isinstance(first, datetime.datetime)
    assert first.tzinfo is datetime.UTC
    assert first == datetime.datetime(2024, 3, 5, 9, 34, 56, 123456, tzinfo=datetime.UTC)
    assert fast[1] == datetime.datetime(2024, 10, 27, 6, 30, tzinfo=ZoneInfo("UTC"))


def test_model_fields_round_trip() -> None:
    from kaiku.accounts.models import Workspace

    written = datetime.datetime(2025, 6, 30, 21, 15, 1, 999999, tzinfo=ZoneInfo("Europe/Helsinki"))
    workspace = Workspace.objects.create(name="T", slug="t-ts")
    Workspace.objects.filter(pk=workspace.pk).update(created_at=written)
    read = Workspace.objects.get(pk=workspace.pk).created_at
    assert read == written
    assert read.tzinfo is datetime.UTC


def test_naive_datetimes_without_time_zone_support() -> None:
    # Django then reads naive datetimes: its own loader comes back for the cursor.
    with override_settings(USE_TZ=False), connection.cursor() as cursor:
        cursor.execute("SELECT '2024-03-05 12:34:56+00'::timestamptz")
        value = cursor.fetchone()[0]
    assert value.tzinfo is None
