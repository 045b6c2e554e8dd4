"""Fixed-window rate limits: one atomic counter per key and window, across all processes.

    retry_after = hit("respond-ip", client_ip(request), limit=60)
    if retry_after:
        return too_many_requests(retry_after)

A fixed window is coarse (a burst at a window's edge can reach twice the
limit) but needs one counter per key and window. Where the counters live
(settings.RATE_LIMIT_STORE):

- "database" (default): the `kaiku_rate_counter` table, one UPSERT per hit
  (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, SQLite ≥ 3.35 and PostgreSQL),
  exact under concurrency; on SQLite straight through the sqlite3 driver. On
  PostgreSQL the table is UNLOGGED: a hit then
  needs no WAL flush (0.2 ms instead of a 3–5 ms fsync), and a crash merely
  forgets this minute's counts. Django's database cache, used before, cost
  six to eight queries and two transactions per hit (docs/performance.md).
- "redis" (KAIKU_REDIS_URL set): INCR + EXPIRE in one round trip.
- "cache": Django's default cache (add, then incr; may under-count a little
  under concurrency). Tests use it with a local-memory cache.

Old windows are deleted by the `lib.prune_rate_counters` periodic job. If the
store is down, requests are let through: answers matter more than limits.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest

from kaiku.lib import plainsql
from kaiku.lib.plainsql import Before

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
# A counter outlives its window a little, so that it never vanishes mid-window.
GRACE_SECONDS = 5
TABLE = "kaiku_rate_counter"
_UPSERT = (
    f"INSERT INTO {TABLE} (key, hits, expires_at) VALUES (%s, 1, %s) "  # noqa: S608 - constant
    f"ON CONFLICT (key) DO UPDATE SET hits = {TABLE}.hits + 1 RETURNING hits"
)
_UPSERT_QMARK = _UPSERT.replace("%s", "?")  # the sqlite3 driver's placeholders


@dataclass(frozen=True)
class Condition:
    """An SQL condition (`%s` placeholders) and its parameters."""

    sql: str
    params: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Limit:
    """At most `limit` requests per window for `key` in `scope` (0 or less: no limit).

    `only_if` is for counting() alone: count only where this condition holds (the
    survey or key named by `key` exists), so unknown names write no counters. The
    other paths count after the caller has read that row, so it holds there.
    """

    scope: str
    key: str
    limit: int
    only_if: Condition | None = None


def hit(scope: str, key: str, limit: int, window: int = WINDOW_SECONDS) -> int:
    """Count one request for `key`; 0 if within `limit`, else seconds to wait.

    A limit of 0 or less disables the check (and counts nothing).
    """
    return hit_in_turn(Limit(scope, key, limit), window=window)


def hit_in_turn(*limits: Limit, window: int = WINDOW_SECONDS) -> int:
    """hit() each limit in order until one is used up, like `hit(a) or hit(b)`: the
    limits after it are not counted (a client refused by its own limit does not use
    up a survey's). 0 if all are within their limits, else seconds to wait.

    In the counter table this is one statement on PostgreSQL (a chain of upserts in
    one WITH) and one transaction on SQLite, instead of one commit per limit.
    """
    active = tuple(limit for limit in limits if limit.limit > 0)
    if not active:
        return 0
    now = time.time()
    window_end, counters = _counters(active, window, now)
    ceilings = [limit.limit for limit in active]
    try:
        counts = _increment_in_turn(counters, ceilings, window_end + GRACE_SECONDS)
    except Exception:  # the counters are a guard here, never a reason to fail
        logger.warning("rate limit store unavailable; letting the request through", exc_info=True)
        return 0
    return _wait(active, counts, window_end, now)


def _counters(limits: Sequence[Limit], window: int, now: float) -> tuple[int, list[str]]:
    """The end of the current window and each limit's counter key in it."""
    window_end = int(now // window) * window + window
    return window_end, [_window(limit.scope, limit.key, window, now)[1] for limit in limits]


@dataclass(frozen=True)
class Counting:
    """Limits counted inside another statement: run `before` with it (kaiku.lib.plainsql),
    then wait() says, from the counts it returned, how long to wait."""

    before: Before
    limits: tuple[Limit, ...]
    window_end: int
    now: float

    def wait(self, counts: Sequence[int | None]) -> int:
        """0 if no counted limit is used up, else seconds to wait (like hit_in_turn)."""
        return _wait(self.limits, counts, self.window_end, self.now)


def counting(*limits: Limit, window: int = WINDOW_SECONDS) -> Counting | None:
    """hit_in_turn(*limits) as part of the caller's next statement, one round trip less:
    on PostgreSQL with the counter table only; None elsewhere (or with nothing to
    count), and then the caller counts with hit_in_turn() as usual.

    A limit whose `only_if` does not hold is not counted and refuses nothing, nor are
    the limits after it counted. Unlike hit_in_turn(), a failing counter table fails
    the caller's statement: it is the same database.
    """
    active = tuple(limit for limit in limits if limit.limit > 0)
    if not active or not counts_in_statements():
        return None
    now = time.time()
    window_end, counters = _counters(active, window, now)
    ceilings = [limit.limit for limit in active]
    conditions = [limit.only_if for limit in active]
    before = _before(counters, ceilings, conditions, window_end + GRACE_SECONDS)
    return Counting(before, active, window_end, now)


def counts_in_statements() -> bool:
    """Whether counting() can count in the caller's statement (else it returns None):
    lets a hot path skip building limits that would not be used."""
    return _store() == "database" and connection.vendor == "postgresql"


def _wait(
    limits: Sequence[Limit], counts: Sequence[int | None], window_end: int, now: float
) -> int:
    # None: not counted, because a limit before it was used up or its condition failed.
    if not any(
        count is not None and count > limit.limit
        for count, limit in zip(counts, limits, strict=True)
    ):
        return 0
    return max(1, int(window_end - now + 0.999))


def used_up(scope: str, key: str, limit: int, window: int = WINDOW_SECONDS) -> int:
    """Seconds to wait if `key` has already had `limit` hits in this window, else 0.

    Counts nothing: for limits on failures (logins), checked before the attempt
    and counted with hit() only when it fails.
    """
    if limit <= 0:
        return 0
    now = time.time()
    window_start, counter = _window(scope, key, window, now)
    try:
        count = _count(counter)
    except Exception:
        logger.warning("rate limit store unavailable; letting the request through", exc_info=True)
        return 0
    if count < limit:
        return 0
    return max(1, int(window_start + window - now + 0.999))


def reset(scope: str, key: str, window: int = WINDOW_SECONDS) -> None:
    """Forget this window's count for `key` (a successful login clears its failures)."""
    try:
        _delete(_window(scope, key, window, time.time())[1])
    except Exception:
        logger.warning("rate limit store unavailable", exc_info=True)


def prune(now: float | None = None) -> int:
    """Delete the database counters of windows that are over; how many."""
    now = time.time() if now is None else now
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE expires_at < %s", [int(now)])  # noqa: S608
        return int(cursor.rowcount)


def _window(scope: str, key: str, window: int, now: float) -> tuple[int, str]:
    window_start = int(now // window) * window
    # Hashed: counter keys stay short and the store never keeps raw IP addresses.
    digest = hashlib.sha256(f"{scope}\0{key}".encode()).hexdigest()[:32]
    return window_start, f"rl:{digest}:{window_start}"


# --- Stores -------------------------------------------------------------------------


def _store() -> str:
    return str(getattr(settings, "RATE_LIMIT_STORE", "database"))


def _increment(counter: str, expires_at: int) -> int:
    if _store() == "cache":
        return _cache_increment(counter, expires_at)
    pipe = _redis().pipeline()
    pipe.incr(counter)
    pipe.expireat(counter, expires_at)
    return int(pipe.execute()[0])


def _increment_in_turn(
    counters: list[str], ceilings: list[int], expires_at: int
) -> list[int | None]:
    """Each counter's new count, in order, until one passes its ceiling; None after it."""
    if _store() == "database":
        if connection.vendor == "postgresql":
            return list(_upsert_chain(counters, ceilings, expires_at))
        return _upsert_in_turn_sqlite(counters, ceilings, expires_at)
    return _count_in_turn(counters, ceilings, lambda counter: _increment(counter, expires_at))


def _count_in_turn(
    counters: list[str], ceilings: list[int], increment: Callable[[str], int]
) -> list[int | None]:
    counts: list[int | None] = [None] * len(counters)
    for i, (counter, ceiling) in enumerate(zip(counters, ceilings, strict=True)):
        count = counts[i] = increment(counter)
        if count > ceiling:
            break
    return counts


def _upsert_in_turn_sqlite(
    counters: list[str], ceilings: list[int], expires_at: int
) -> list[int | None]:
    # Straight through the sqlite3 driver: Django's cursor wrapper and atomic() took
    # longer than these statements (0.08 ms against 0.02 per answer; docs/performance.md).
    # One IMMEDIATE transaction of our own, or the caller's if one is open. No savepoint:
    # ON CONFLICT cannot raise an integrity error, and when the database itself fails,
    # the caller's transaction is lost anyway. A single counter (an API key's) needs no
    # BEGIN and COMMIT: one statement in autocommit mode is its own transaction, and
    # SQLite's busy handler waits for the write lock as BEGIN IMMEDIATE would (20 µs
    # → 11 µs a hit).
    connection.ensure_connection()
    own = connection.get_autocommit()
    begin = own and len(counters) > 1
    raw = connection.connection
    cursor = raw.cursor()

    def upsert(counter: str) -> int:
        # fetchall(): the statement runs to its end, so that on its own it has committed.
        return int(cursor.execute(_UPSERT_QMARK, (counter, expires_at)).fetchall()[0][0])

    gate = getattr(connection, "write_gate", None) if own else None
    if gate is not None:
        gate.acquire()  # writers take turns (kaiku.lib.sqlite)
    try:
        if begin:
            cursor.execute("BEGIN IMMEDIATE")
        counts = _count_in_turn(counters, ceilings, upsert)
        if begin:
            cursor.execute("COMMIT")
    except BaseException:
        if begin and raw.in_transaction:
            raw.rollback()
        raise
    finally:
        cursor.close()
        if gate is not None:
            gate.release()
    return counts


def _upsert_chain(counters: list[str], ceilings: list[int], expires_at: int) -> tuple[Any, ...]:
    conditions: tuple[Condition | None, ...] = (None,) * len(counters)
    return plainsql.run(_before(counters, ceilings, conditions, expires_at))


def _before(
    counters: Sequence[str],
    ceilings: Sequence[int],
    conditions: Sequence[Condition | None],
    expires_at: int,
) -> Before:
    """WITH entries c0, c1, … that count each counter in turn, returning the counts.

    Each upsert reads the previous one's count and inserts nothing once a ceiling
    is passed (or its own condition fails), so the counts after it come back NULL.
    """
    params: list[Any] = []
    for i, (counter, condition) in enumerate(zip(counters, conditions, strict=True)):
        params += [counter, expires_at]
        if i:
            params.append(ceilings[i - 1])
        if condition is not None:
            params += condition.params
    sql = _chain_sql(tuple(condition.sql if condition else None for condition in conditions))
    columns = tuple(f"(SELECT hits FROM c{i})" for i in range(len(counters)))  # noqa: S608
    return Before(sql, columns, tuple(params))


@cache
def _chain_sql(conditions: tuple[str | None, ...]) -> str:
    steps = []
    for i, condition in enumerate(conditions):
        where = [f"c{i - 1}.hits <= %s"] if i else []
        where += [condition] if condition else []
        source = f" FROM c{i - 1}" if i else ""
        where_sql = f" WHERE {' AND '.join(where)}" if where else ""
        steps.append(
            f"c{i} AS (INSERT INTO {TABLE} (key, hits, expires_at) "
            f"SELECT %s, 1, %s{source}{where_sql} "
            f"ON CONFLICT (key) DO UPDATE SET hits = {TABLE}.hits + 1 RETURNING hits)"
        )
    return ", ".join(steps)


def _count(counter: str) -> int:
    store = _store()
    if store == "cache":
        return int(caches["default"].get(counter) or 0)
    if store == "redis":
        return int(_redis().get(counter) or 0)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT hits FROM {TABLE} WHERE key = %s", [counter])  # noqa: S608
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _delete(counter: str) -> None:
    store = _store()
    if store == "cache":
        caches["default"].delete(counter)
        return
    if store == "redis":
        _redis().delete(counter)
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE key = %s", [counter])  # noqa: S608


def _cache_increment(counter: str, expires_at: int) -> int:
    cache = caches["default"]
    timeout = max(1, int(expires_at - time.time()))
    if cache.add(counter, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(counter)
    except ValueError:  # expired between add and incr: start a new count
        cache.set(counter, 1, timeout=timeout)
        return 1


@cache
def _redis() -> Any:
    """One connection pool per process (redis-py is thread-safe)."""
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)


# --- Client addresses ---------------------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """The client's address, as a rate-limit key.

    Behind KAIKU_PROXY_COUNT reverse proxies the client is that many entries
    from the right of X-Forwarded-For (entries further left are whatever the
    client chose to send). IPv6 clients are keyed by their /64, which one
    host usually controls entirely.
    """
    address = request.META.get("REMOTE_ADDR", "") or ""
    proxies = getattr(settings, "PROXY_COUNT", 0)
    if proxies:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
