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
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest

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
class Limit:
    """At most `limit` requests per window for `key` in `scope` (0 or less: no limit)."""

    scope: str
    key: str
    limit: int


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
    active = [limit for limit in limits if limit.limit > 0]
    if not active:
        return 0
    now = time.time()
    window_start = int(now // window) * window
    counters = [_window(limit.scope, limit.key, window, now)[1] for limit in active]
    ceilings = [limit.limit for limit in active]
    try:
        counts = _increment_in_turn(counters, ceilings, window_start + window + GRACE_SECONDS)
    except Exception:  # the counters are a guard here, never a reason to fail
        logger.warning("rate limit store unavailable; letting the request through", exc_info=True)
        return 0
    if all(
        count is not None and count <= ceiling
        for count, ceiling in zip(counts, ceilings, strict=True)
    ):
        return 0
    return max(1, int(window_start + window - now + 0.999))


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
    # the caller's transaction is lost anyway.
    connection.ensure_connection()
    own = connection.get_autocommit()
    raw = connection.connection
    cursor = raw.cursor()

    def upsert(counter: str) -> int:
        return int(cursor.execute(_UPSERT_QMARK, (counter, expires_at)).fetchone()[0])

    gate = getattr(connection, "write_gate", None) if own else None
    if gate is not None:
        gate.acquire()  # writers take turns (kaiku.lib.sqlite)
    try:
        if own:
            cursor.execute("BEGIN IMMEDIATE")
        counts = _count_in_turn(counters, ceilings, upsert)
        if own:
            cursor.execute("COMMIT")
    except BaseException:
        if own and raw.in_transaction:
            raw.rollback()
        raise
    finally:
        cursor.close()
        if gate is not None:
            gate.release()
    return counts


def _upsert_chain(counters: list[str], ceilings: list[int], expires_at: int) -> tuple[Any, ...]:
    # Each upsert in the WITH reads the previous one's count and inserts nothing
    # once a ceiling is passed, so the counts after it come back NULL.
    params: list[Any] = [counters[0], expires_at]
    for i in range(1, len(counters)):
        params += [counters[i], expires_at, ceilings[i - 1]]
    with connection.cursor() as cursor:
        cursor.execute(_chain_sql(len(counters)), params)
        return tuple(cursor.fetchone())


@cache
def _chain_sql(length: int) -> str:
    steps = [f"c0 AS ({_UPSERT})"]
    for i in range(1, length):
        steps.append(
            f"c{i} AS (INSERT INTO {TABLE} (key, hits, expires_at) "  # noqa: S608 - constant
            f"SELECT %s, 1, %s FROM c{i - 1} WHERE c{i - 1}.hits <= %s "
            f"ON CONFLICT (key) DO UPDATE SET hits = {TABLE}.hits + 1 RETURNING hits)"
        )
    counts = ", ".join(f"(SELECT hits FROM c{i})" for i in range(length))  # noqa: S608
    return f"WITH {', '.join(steps)} SELECT {counts}"


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
