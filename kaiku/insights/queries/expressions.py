"""SQL expressions that behave identically on SQLite and PostgreSQL.

- `LocalDate`: the calendar day of `created_at` in the workspace's time zone, as 'YYYY-MM-DD'.
  PostgreSQL converts natively (`AT TIME ZONE`). SQLite cannot convert zones, and Django's own
  `TruncDate(tzinfo=…)` calls a Python function per row there (seconds on a million rows), so we
  compute the zone's UTC offsets over the queried range in Python (zoneinfo) and hand SQLite a
  `CASE` over the few transition instants: `date(created_at, CASE WHEN created_at < '<DST
  change>' THEN '+120 minutes' … END)`. Exact for any zone, pure SQL, and the CASE has one
  branch per DST change in the range (two a year in Europe).
- `PropertyText`: a property of the answer's snapshot as text (`properties ->> key`).
- `Tenure`: customer tenure at answer time from the `customer_since` snapshot property, as a
  bucket label, compared as ISO date text so that a malformed value can never make a query fail.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import CharField, F, Func, TextField
from django.db.models.expressions import Expression
from django.db.models.sql.compiler import SQLCompiler

SQL = tuple[str, list[Any]]
SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S"  # how Django's SQLite backend stores UTC datetimes

# Tenure buckets at answer time (days since customer_since), in order.
TENURE_BUCKETS: tuple[tuple[str, int], ...] = (
    ("new", 91),  # under 3 months
    ("3-12m", 365),
    ("1-2y", 730),
)
TENURE_OLDEST = "2y+"
TENURE_LABELS = (*tuple(label for label, _ in TENURE_BUCKETS), TENURE_OLDEST)


def offset_segments(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """[(segment start in UTC, UTC offset in minutes)] covering [start, end).

    Walks the range a day at a time and bisects to the second where the offset changes.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    segments = [(start, _offset_minutes(zone, start))]
    cursor = start
    while cursor < end:
        step = min(cursor + timedelta(days=1), end)
        if _offset_minutes(zone, step) != segments[-1][1]:
            low, high = cursor, step
            while (high - low) > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset_minutes(zone, middle) == segments[-1][1]:
                    low = middle
                else:
                    high = middle
            change = high.replace(microsecond=0)
            segments.append((change, _offset_minutes(zone, change)))
        cursor = step
    return segments


def _offset_minutes(zone: ZoneInfo, moment: datetime) -> int:
    offset = moment.astimezone(zone).utcoffset()
    return int(offset.total_seconds() // 60) if offset else 0


class LocalDate(Func):
    """'YYYY-MM-DD' of a UTC datetime column in `zone`, valid for values in [start, end)."""

    output_field = CharField()

    def __init__(self, column: str, zone: ZoneInfo, start: datetime, end: datetime) -> None:
        super().__init__(column)
        self.zone, self.start, self.end = zone, start, end

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **_: Any) -> SQL:
        column, params = compiler.compile(self.source_expressions[0])
        assert not params  # a column reference
        return local_date_sql(column, self.zone, self.start, self.end, "sqlite")

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **_: Any
    ) -> SQL:
        column, params = compiler.compile(self.source_expressions[0])
        assert not params  # a column reference
        return local_date_sql(column, self.zone, self.start, self.end, "postgresql")


def local_date_sql(column: str, zone: ZoneInfo, start: datetime, end: datetime, vendor: str) -> SQL:
    """SQL for the local 'YYYY-MM-DD' of a UTC datetime column, valid in [start, end)."""
    if vendor == "postgresql":
        return f"(({column} AT TIME ZONE %s)::date)::text", [zone.key]
    segments = offset_segments(zone, start, end)
    if len(segments) == 1:
        return f"date({column}, %s)", [f"{segments[0][1]:+d} minutes"]
    whens, params = [], []
    for (_, minutes), (next_start, _) in itertools.pairwise(segments):
        whens.append(f"WHEN {column} < %s THEN %s")
        params += [next_start.strftime(SQLITE_FORMAT), f"{minutes:+d} minutes"]
    case = f"CASE {' '.join(whens)} ELSE %s END"
    return f"date({column}, {case})", [*params, f"{segments[-1][1]:+d} minutes"]


def property_text(key: str) -> Expression:
    """The snapshot property `key` as text (NULL when absent)."""
    return PropertyText(key)


class PropertyText(Func):
    """`properties ->> key`: one JSON extraction per row on both engines.

    Django's KT() makes SQLite parse the JSON twice per row (JSON_TYPE, then JSON_EXTRACT) to
    spell booleans as true/false; this is one parse. Difference left: a JSON boolean reads
    1/0 on SQLite and true/false on PostgreSQL (numbers and strings agree once Python turns
    the key into text).
    """

    output_field = TextField()

    def __init__(self, key: str) -> None:
        super().__init__(F("properties"))
        self.key = key

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **_: Any) -> SQL:
        column, params = compiler.compile(self.source_expressions[0])
        path = '$."' + self.key.replace('"', "") + '"'
        return f"({column} ->> %s)", [*params, path]

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **_: Any
    ) -> SQL:
        column, params = compiler.compile(self.source_expressions[0])
        return f"({column} ->> %s)", [*params, self.key]


class Tenure(Func):
    """'new' / '3-12m' / '1-2y' / '2y+' from properties.customer_since vs created_at (UTC day).

    NULL when the property is missing or does not start with an ISO date.
    """

    output_field = CharField()

    def __init__(self, since_property: str = "customer_since") -> None:
        super().__init__(property_text(since_property), F("created_at"))
        self.since_property = since_property

    def _since(self, compiler: SQLCompiler) -> SQL:
        sql, params = compiler.compile(self.source_expressions[0])
        return sql, list(params)

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **_: Any) -> SQL:
        since_sql, since_params = self._since(compiler)
        since = f"substr({since_sql}, 1, 10)"
        created, created_params = compiler.compile(self.source_expressions[1])
        assert not created_params  # a column reference
        return self._case(
            since,
            since_params,
            lambda days: f"date({created}, '-{days} days')",
            f"{since_sql} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'",
            since_params,
        )

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **_: Any
    ) -> SQL:
        since_sql, since_params = self._since(compiler)
        since = f"substr({since_sql}, 1, 10)"
        created, created_params = compiler.compile(self.source_expressions[1])
        assert not created_params  # a column reference
        return self._case(
            since,
            since_params,
            lambda days: (
                f"to_char(({created} AT TIME ZONE 'UTC') - interval '{days} days', 'YYYY-MM-DD')"
            ),
            f"{since_sql} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}'",
            since_params,
        )

    @staticmethod
    def _case(
        since: str,
        since_params: list[Any],
        days_before: Any,
        looks_like_date: str,
        check_params: list[Any],
    ) -> SQL:
        # The day counts are constants from TENURE_BUCKETS, never user input.
        parts = [f"CASE WHEN {since} IS NULL OR NOT ({looks_like_date}) THEN NULL"]
        params: list[Any] = [*since_params, *check_params]
        for label, days in TENURE_BUCKETS:
            parts.append(f"WHEN {since} > {days_before(days)} THEN %s")
            params += [*since_params, label]
        parts.append("ELSE %s END")
        params.append(TENURE_OLDEST)
        return " ".join(parts), params
