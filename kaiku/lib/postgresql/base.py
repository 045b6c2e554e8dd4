"""Django's PostgreSQL backend, reading `timestamptz` columns with psycopg's C loader.

Django registers its own timestamptz loader (a Python subclass of psycopg's, which
re-labels each value with the connection's time zone). Being Python, it keeps
psycopg from using its C implementation: parsing timestamps took ~7 % of an API
answer (the key, workspace and survey rows carry a dozen of them;
docs/performance.md). When the connection's zone is UTC, the C loader already
returns what Django's does — PostgreSQL sends each value in the session's zone,
which Django sets to UTC (`ensure_timezone`), and psycopg labels it
`datetime.timezone.utc` — so it is registered instead. Any other zone, or
psycopg without its C extension, keeps Django's loader.
"""

from __future__ import annotations

import datetime
from functools import lru_cache
from typing import Any

from django.db.backends.postgresql import base
from psycopg import _cmodule, adapt
from psycopg.abc import AdaptContext, Buffer
from psycopg.adapt import Loader

TIMESTAMPTZ = "timestamptz"
# psycopg-binary's or psycopg-c's C loader; None with the pure-Python psycopg.
_C_LOADER: Any = getattr(_cmodule._psycopg, "TimestamptzLoader", None)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        if self.timezone is datetime.UTC and fast_loader() is not None:
            params["context"] = _with_fast_loader(params["context"])
        return params


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
