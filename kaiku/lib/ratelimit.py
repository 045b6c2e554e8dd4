"""Fixed-window rate limits: one atomic counter per key and window, across all processes.

    retry_after = hit("respond-ip", client_ip(request), limit=60)
    if retry_after:
        return too_many_requests(retry_after)

A fixed window is coarse (a burst at a window's edge can reach twice the
limit) but needs one counter per key and window. Where the counters live
(settings.RATE_LIMIT_STORE):

- "database" (default): the `kaiku_rate_counter` table, one UPSERT per hit
  (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, SQLite ≥ 3.35 and PostgreSQL),
  exact under concurrency. On PostgreSQL the table is UNLOGGED: a hit then
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


def hit(scope: str, key: str, limit: int, window: int = WINDOW_SECONDS) -> int:
    """Count one request for `key`; 0 if within `limit`, else seconds to wait.

    A limit of 0 or less disables the check (and counts nothing).
    """
    if limit <= 0:
        return 0
    now = time.time()
    window_start, counter = _window(scope, key, window, now)
    try:
        count = _increment(counter, window_start + window + GRACE_SECONDS)
    except Exception:  # the counters are a guard here, never a reason to fail
        logger.warning("rate limit store unavailable; letting the request through", exc_info=True)
        return 0
    if count <= limit:
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
    store = _store()
    if store == "cache":
        return _cache_increment(counter, expires_at)
    if store == "redis":
        pipe = _redis().pipeline()
        pipe.incr(counter)
        pipe.expireat(counter, expires_at)
        return int(pipe.execute()[0])
    return _upsert(counter, expires_at)


def _upsert(counter: str, expires_at: int) -> int:
    # No savepoint around it: ON CONFLICT cannot raise an integrity error, and
    # when the database itself fails, the caller's transaction is lost anyway.
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [counter, expires_at])
        return int(cursor.fetchone()[0])


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
