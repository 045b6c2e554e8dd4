"""kaiku.lib.ratelimit's stores: the counter table (default), Redis, Django's cache.

The public functions (hit, used_up, reset, client_ip) are also exercised through the
respondent pages, the API and the login form in their own tests; these pin the stores.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from unittest import mock

import pytest
import redis
import time_machine
from django.db import OperationalError, connection
from django.test import TestCase, TransactionTestCase, override_settings
from django.test.utils import CaptureQueriesContext

from kaiku.lib import periodic, ratelimit
from kaiku.lib.models import RateCounter

NOON = datetime(2026, 5, 1, 12, 0, 10, tzinfo=UTC)
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@contextmanager
def driver_statements() -> Iterator[list[str]]:
    """The SQL the database driver ran: on SQLite the counters bypass Django's cursor,
    so assertNumQueries cannot see them; sqlite3's trace callback sees everything."""
    if connection.vendor != "sqlite":
        with CaptureQueriesContext(connection) as captured:
            statements: list[str] = []
            yield statements
        statements += [query["sql"] for query in captured.captured_queries]
        return
    connection.ensure_connection()
    statements = []
    connection.connection.set_trace_callback(statements.append)
    try:
        yield statements
    finally:
        connection.connection.set_trace_callback(None)


class DatabaseStoreTests(TestCase):
    def test_a_hit_is_one_statement(self) -> None:
        ratelimit.hit("scope", "key", limit=5)
        with driver_statements() as statements:
            ratelimit.hit("scope", "key", limit=5)
        assert len(statements) == 1, statements

    def test_it_counts_each_key_and_window_and_says_how_long_to_wait(self) -> None:
        with time_machine.travel(NOON, tick=False):
            waits = [ratelimit.hit("respond-ip", "1.2.3.4", limit=3) for _ in range(5)]
            assert waits == [0, 0, 0, 50, 50]
            assert ratelimit.hit("respond-ip", "5.6.7.8", limit=3) == 0
            assert ratelimit.hit("api-key", "1.2.3.4", limit=3) == 0, "scopes are separate"
        with time_machine.travel(NOON.replace(minute=1), tick=False):
            assert ratelimit.hit("respond-ip", "1.2.3.4", limit=3) == 0, "a new window"
        assert RateCounter.objects.count() == 4

    def test_keys_are_hashed_never_raw_addresses(self) -> None:
        ratelimit.hit("respond-ip", "203.0.113.9", limit=3)
        [key] = RateCounter.objects.values_list("key", flat=True)
        assert "203.0.113.9" not in key
        assert key.startswith("rl:")

    def test_used_up_reads_without_counting_and_reset_forgets(self) -> None:
        for _ in range(2):
            ratelimit.hit("login-email", "dana@example.org", limit=2, window=900)
        assert ratelimit.used_up("login-email", "dana@example.org", 2, window=900) > 0
        assert ratelimit.used_up("login-email", "dana@example.org", 3, window=900) == 0
        ratelimit.reset("login-email", "dana@example.org", window=900)
        assert ratelimit.used_up("login-email", "dana@example.org", 2, window=900) == 0

    def test_prune_deletes_only_finished_windows(self) -> None:
        with time_machine.travel(NOON, tick=False):
            ratelimit.hit("a", "old", limit=9)
        with time_machine.travel(NOON.replace(minute=5), tick=False):
            ratelimit.hit("a", "new", limit=9)
            assert ratelimit.prune() == 1
        assert RateCounter.objects.count() == 1

    def test_the_periodic_job_prunes(self) -> None:
        jobs = {job.name: job for job in periodic.registered()}
        assert "lib.prune_rate_counters" in jobs
        with time_machine.travel(NOON, tick=False):
            ratelimit.hit("a", "old", limit=9)
        with time_machine.travel(NOON.replace(minute=5), tick=False):
            jobs["lib.prune_rate_counters"].func()
        assert not RateCounter.objects.exists()

    def test_a_store_failure_lets_the_request_through(self) -> None:
        gone = OperationalError("gone")
        with mock.patch.object(ratelimit, "_increment_in_turn", side_effect=gone):
            assert ratelimit.hit("respond-ip", "1.2.3.4", limit=1) == 0
            assert ratelimit.hit("respond-ip", "1.2.3.4", limit=1) == 0

    def test_limits_in_turn_stop_counting_at_the_first_used_up(self) -> None:
        client, survey = ratelimit.Limit("ip", "1.2.3.4", 2), ratelimit.Limit("survey", "42", 3)
        with time_machine.travel(NOON, tick=False):
            waits = [ratelimit.hit_in_turn(client, survey) for _ in range(4)]
            assert waits == [0, 0, 50, 50]
            assert self.hits() == {"ip": 4, "survey": 2}, "refused by ip: survey not counted"
            other = ratelimit.Limit("ip", "5.6.7.8", 2)
            assert ratelimit.hit_in_turn(other, survey) == 0
            assert ratelimit.hit_in_turn(other, survey) == 50, "the survey's third is its last"
            assert self.hits() == {"ip": 4, "other-ip": 2, "survey": 4}

    def test_limits_in_turn_skip_the_switched_off_ones(self) -> None:
        off, on = ratelimit.Limit("ip", "1.2.3.4", 0), ratelimit.Limit("survey", "42", 1)
        assert ratelimit.hit_in_turn(off, on) == 0
        assert ratelimit.hit_in_turn(off, on) > 0
        assert ratelimit.hit_in_turn(off) == 0
        assert RateCounter.objects.get().hits == 2

    def test_limits_in_turn_let_the_request_through_if_the_store_fails(self) -> None:
        limits = ratelimit.Limit("ip", "1.2.3.4", 1), ratelimit.Limit("survey", "42", 1)
        failing = OperationalError("gone")
        with (
            mock.patch.object(ratelimit, "_upsert_in_turn_sqlite", side_effect=failing),
            mock.patch.object(ratelimit, "_upsert_chain", side_effect=failing),
        ):
            assert [ratelimit.hit_in_turn(*limits) for _ in range(2)] == [0, 0]

    def hits(self) -> dict[str, int]:
        names = {
            ratelimit._window(scope, key, 60, NOON.timestamp())[1]: name
            for name, scope, key in [
                ("ip", "ip", "1.2.3.4"),
                ("other-ip", "ip", "5.6.7.8"),
                ("survey", "survey", "42"),
            ]
        }
        return {names[c.key]: c.hits for c in RateCounter.objects.all()}

    def test_zero_turns_it_off_and_counts_nothing(self) -> None:
        assert ratelimit.hit("respond-ip", "1.2.3.4", limit=0) == 0
        assert not RateCounter.objects.exists()


@override_settings(RATE_LIMIT_STORE="cache", CACHES=LOCMEM)
class CacheStoreTests(TestCase):
    def test_it_counts_in_the_cache_and_not_the_table(self) -> None:
        with time_machine.travel(NOON, tick=False):
            assert [ratelimit.hit("s", "k", limit=1) for _ in range(2)] == [0, 50]
            assert ratelimit.used_up("s", "k", 1) == 50
            ratelimit.reset("s", "k")
            assert ratelimit.used_up("s", "k", 1) == 0
        assert not RateCounter.objects.exists()


def _redis_url() -> str:
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis server at 127.0.0.1:6379 (optional store)")
    return url


class RedisStoreTests(TestCase):
    def setUp(self) -> None:
        url = _redis_url()
        self.enterContext(override_settings(RATE_LIMIT_STORE="redis", REDIS_URL=url))
        ratelimit._redis.cache_clear()
        self.addCleanup(ratelimit._redis.cache_clear)
        self.scope = f"test-{uuid.uuid4()}"  # the server may be shared

    def test_it_counts_in_redis_with_an_expiry(self) -> None:
        waits = [ratelimit.hit(self.scope, "k", limit=2) for _ in range(3)]
        assert waits[:2] == [0, 0]
        assert waits[2] > 0
        counter = ratelimit._window(self.scope, "k", ratelimit.WINDOW_SECONDS, 0)[1]
        keys = ratelimit._redis().keys(counter.rsplit(":", 1)[0] + ":*")
        assert len(keys) == 1
        assert 0 < ratelimit._redis().ttl(keys[0]) <= ratelimit.WINDOW_SECONDS + 5
        assert ratelimit.used_up(self.scope, "k", 2) > 0
        ratelimit.reset(self.scope, "k")
        assert ratelimit.used_up(self.scope, "k", 2) == 0
        assert not RateCounter.objects.exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the sqlite3 driver path")
class SqliteOwnTransactionTests(TransactionTestCase):
    """Outside a transaction the SQLite path opens its own, through the driver."""

    def test_limits_in_turn_are_one_immediate_transaction(self) -> None:
        limits = ratelimit.Limit("ip", "1.2.3.4", 9), ratelimit.Limit("survey", "42", 9)
        with driver_statements() as statements:
            assert ratelimit.hit_in_turn(*limits) == 0
        verbs = [sql.split()[0] for sql in statements]
        assert verbs == ["BEGIN", "INSERT", "INSERT", "COMMIT"], statements
        assert sorted(RateCounter.objects.values_list("hits", flat=True)) == [1, 1]
        assert connection.get_autocommit()
        assert not connection.connection.in_transaction

    def test_a_single_limit_is_one_statement_that_commits_on_its_own(self) -> None:
        with driver_statements() as statements:
            assert ratelimit.hit("api-key", "hash", limit=9) == 0
            assert ratelimit.hit("api-key", "hash", limit=9) == 0
        assert [sql.split()[0] for sql in statements] == ["INSERT", "INSERT"], statements
        assert not connection.connection.in_transaction
        assert RateCounter.objects.get().hits == 2

    def test_a_failure_rolls_back_every_count_and_leaves_no_transaction_open(self) -> None:
        counters = ["rl:first", object()]  # the driver cannot bind the second key
        with pytest.raises(Exception, match="type"):
            ratelimit._upsert_in_turn_sqlite(counters, [9, 9], 2_000_000_000)  # type: ignore[arg-type]
        assert not RateCounter.objects.exists()
        assert not connection.connection.in_transaction
        assert ratelimit.hit("ip", "1.2.3.4", limit=9) == 0, "the connection still works"


@pytest.mark.postgres
class ConcurrentHitsTests(TransactionTestCase):
    def test_concurrent_hits_from_many_connections_are_counted_exactly(self) -> None:
        self.hammer(lambda _thread: ratelimit.hit("respond-survey", "42", limit=10**6))
        assert RateCounter.objects.get().hits == THREADS * EACH

    def test_limits_in_turn_are_one_statement_and_exact_under_concurrency(self) -> None:
        survey = ratelimit.Limit("respond-survey", "42", 10**6)

        def hit(thread: int) -> None:
            ratelimit.hit_in_turn(ratelimit.Limit("respond-ip", f"198.51.100.{thread}", 10), survey)

        self.hammer(hit)
        with (
            time_machine.travel(NOON.replace(second=30), tick=False),  # the same window
            CaptureQueriesContext(connection) as queries,
        ):
            ratelimit.hit_in_turn(ratelimit.Limit("respond-ip", "203.0.113.1", 10), survey)
        assert len(queries) == 1
        hits = sorted(RateCounter.objects.values_list("hits", flat=True))
        # Each client: 25 hits counted, 10 let through to the survey's count.
        assert hits == [1] + [EACH] * THREADS + [THREADS * 10 + 1]

    def hammer(self, hit: Callable[[int], object]) -> None:
        """EACH calls of hit(thread) in each of THREADS threads, all started at once."""
        barrier = threading.Barrier(THREADS)

        def run(thread: int) -> None:
            try:
                barrier.wait(timeout=10)
                for _ in range(EACH):
                    hit(thread)
            finally:
                connection.close()

        # Start well inside a window: hits that straddle a minute boundary are
        # counted in two windows (correctly), and the tests read one window.
        with (
            time_machine.travel(NOON.replace(second=5), tick=True),
            ThreadPoolExecutor(THREADS) as pool,
        ):
            list(pool.map(run, range(THREADS)))

    def test_the_counter_table_is_unlogged(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = %s", [TABLE])
            assert cursor.fetchone() == ("u",)


TABLE = ratelimit.TABLE
THREADS, EACH = 8, 25
