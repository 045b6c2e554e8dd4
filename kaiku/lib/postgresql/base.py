"""Django's PostgreSQL backend with two changes for the answer path.

**Timestamps parsed in C.** Django registers its own timestamptz loader (a Python
subclass of psycopg's, which re-labels each value with the connection's time
zone). Being Python, it keeps psycopg from using its C implementation: parsing
timestamps took ~7 % of an API answer (the key, workspace and survey rows carry a
dozen of them; docs/performance.md). When the connection's zone is UTC, the C
loader already returns what Django's does — PostgreSQL sends each value in the
session's zone, which Django sets to UTC (`ensure_timezone`), and psycopg labels
it `datetime.timezone.utc` — so it is registered instead. Any other zone, or
psycopg without its C extension, keeps Django's loader.

**Prepared statements for constant SQL.** `prepared_cursor()` gives a cursor
whose statements the server parses and plans once per connection, then only
executes (psycopg's prepared statements with server-side parameters). The
answer path's statements (`kaiku.lib.plainsql`: the API key with its rate limit
and survey, the survey with its rate limits, the answer with its outbox row) are
built once per process, so their text never changes; planning them took longer
than running them (a three-table join with a data-modifying WITH: 0.38 ms a
statement planned each time, 0.15 ms prepared). Everything else — the ORM —
keeps Django's client-side binding, which never prepares. On when OPTIONS sets
`prepare_threshold` (Kaiku's settings do unless KAIKU_DB_PREPARED_STATEMENTS=0,
for a pooler that cannot keep prepared statements: PgBouncer before 1.21, or
with max_prepared_statements = 0, in transaction mode).
"""

from __future__ import annotations

import datetime
from functools import lru_cache
from typing import Any

from django.db.backends.postgresql import base, operations
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.backends.utils import CursorWrapper
from psycopg import Cursor, _cmodule, adapt, adapters, errors
from psycopg.abc import AdaptContext, Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format

TIMESTAMPTZ = "timestamptz"
TIMESTAMPTZ_OID = adapters.types[TIMESTAMPTZ].oid
# psycopg-binary's or psycopg-c's C loader; None with the pure-Python psycopg.
_C_LOADER: Any = getattr(_cmodule._psycopg, "TimestamptzLoader", None)


class PreparedCursor(Cursor[Any]):
    """psycopg's server-side binding cursor, preparing each statement on its first run.

    psycopg keeps up to `prepared_max` (100) statements per connection and
    deallocates the least used beyond that.
    """

    def execute(
        self,
        query: Any,
        params: Any = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Any:
        return super().execute(
            query, params, prepare=True if prepare is None else prepare, binary=binary
        )


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str:
        # Django reads a client-side cursor's own text; a prepared one holds $1, $2 …
        if isinstance(cursor, PreparedCursor):
            try:
                return str(self.compose_sql(sql, params))
            except errors.DataError:
                return sql  # a value psycopg cannot quote: the statement as written
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    _next_prepared = False  # create_cursor()'s instruction from prepared_cursor()

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        if self.timezone is datetime.UTC and fast_loader() is not None:
            params["context"] = _with_fast_loader(params["context"])
        return params

    def prepared_cursor(self) -> CursorWrapper:
        """A cursor for statements whose text is constant (the module docstring): the
        server prepares each on first use. A plain cursor when preparing is off."""
        if self.settings_dict["OPTIONS"].get("prepare_threshold") is None:
            return self.cursor()
        # Through cursor(), so the health check, error wrapping and query logging
        # apply as to any cursor; create_cursor() makes the psycopg cursor.
        self._next_prepared = True
        try:
            return self.cursor()
        finally:
            self._next_prepared = False

    def create_cursor(self, name: str | None = None) -> Any:
        if name is not None or not self._next_prepared:
            return super().create_cursor(name)
        cursor = PreparedCursor(self.connection)
        # As Django's create_cursor(): the cursor reads timestamps in the connection's zone.
        tzloader = self.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        if self.timezone != tzloader.timezone:
            register_tzloader(self.timezone, cursor)
        return cursor


def fast_loader() -> type[Loader] | None:
    """A timestamptz loader for UTC connections that parses in C, if psycopg has C."""
    return UtcTimestamptzLoader if _C_LOADER is not None else None


class UtcTimestamptzLoader(Loader):
    """psycopg's C loader behind a Python class (the C class cannot be subclassed).

    `timezone` is what Django's create_cursor() compares with the connection's: a
    cursor of a connection in another zone (a test overriding USE_TZ) gets
    Django's own loader back.
    """

    timezone = datetime.UTC

    def __init__(self, oid: int, context: AdaptContext | None = None) -> None:
        super().__init__(oid, context)
        # The bound C method itself: psycopg calls it with no Python frame per value.
        self.load = _C_LOADER(oid, context).load  # type: ignore[method-assign]

    def load(self, data: Buffer) -> Any:  # replaced per instance in __init__
        raise NotImplementedError


@lru_cache
def _with_fast_loader(template: adapt.AdaptersMap) -> adapt.AdaptersMap:
    adapters = adapt.AdaptersMap(template)
    adapters.register_loader(TIMESTAMPTZ, UtcTimestamptzLoader)
    return adapters
