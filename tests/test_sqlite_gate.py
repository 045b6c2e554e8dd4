"""kaiku.lib.sqlite: write transactions on a SQLite file take turns through a flock().

The effect (two web processes no longer sleep in SQLite's busy handler) is measured by
`make bench ARGS=ingestion`; here: the gate is held exactly while a write transaction
is open, released by commit, rollback, a failed BEGIN and close, and taken by the
rate-limit counters' own transaction too.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.db.utils import ConnectionHandler

from kaiku.lib import ratelimit
from kaiku.lib.sqlite.base import WriteGate

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's backend")


def gate_is_taken(path: str) -> bool:
    """Whether another open file description holds the lock on `path` right now."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@pytest.fixture
def file_db(tmp_path: Path, django_db_blocker: Any) -> Iterator[Any]:
    """A Kaiku SQLite connection to a database file, as `make run` has, under alias "file"."""
    name = str(tmp_path / "kaiku.sqlite3")
    config = {
        "ENGINE": "kaiku.lib.sqlite",
        "NAME": name,
        "OPTIONS": {"transaction_mode": "IMMEDIATE"},
    }
    handler = ConnectionHandler({"default": config, "file": config})
    db = handler["file"]
    with django_db_blocker.unblock():
        connections["file"] = db
        try:
            with db.cursor() as cursor:
                cursor.execute("CREATE TABLE answers (id INTEGER PRIMARY KEY, score INTEGER)")
            yield db
        finally:
            db.close()
            del connections["file"]


def insert(db: Any, score: int) -> None:
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO answers (score) VALUES (%s)", [score])


def test_a_write_transaction_holds_the_gate_until_it_commits(file_db: Any) -> None:
    path = f"{file_db.settings_dict['NAME']}-writers.lock"
    assert not gate_is_taken(path)
    with transaction.atomic(using="file"):
        insert(file_db, 9)
        assert gate_is_taken(path)
        with transaction.atomic(using="file"):  # a savepoint takes nothing more
            insert(file_db, 10)
        assert gate_is_taken(path)
    assert not gate_is_taken(path)
    with file_db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM answers")
        assert cursor.fetchone()[0] == 2


def test_a_rollback_and_a_failed_begin_release_it(file_db: Any) -> None:
    path = f"{file_db.settings_dict['NAME']}-writers.lock"

    def fails_halfway() -> None:
        with transaction.atomic(using="file"):
            insert(file_db, 9)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fails_halfway()
    assert not gate_is_taken(path)
    with file_db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM answers")
        assert cursor.fetchone()[0] == 0  # rolled back
    file_db.transaction_mode = "NONSENSE"  # BEGIN NONSENSE fails after the gate is taken
    try:
        with pytest.raises(DatabaseError), transaction.atomic(using="file"):
            pass
    finally:
        file_db.transaction_mode = "IMMEDIATE"
    assert not gate_is_taken(path)


def test_close_lets_go_of_the_gate_and_its_file(file_db: Any) -> None:
    path = f"{file_db.settings_dict['NAME']}-writers.lock"
    file_db.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    assert gate_is_taken(path)
    gate = file_db.write_gate
    file_db.close()
    assert not gate_is_taken(path)
    assert gate.fd is None
    assert file_db.write_gate is None


def test_reads_outside_a_transaction_do_not_take_it(file_db: Any) -> None:
    path = f"{file_db.settings_dict['NAME']}-writers.lock"
    held = WriteGate(file_db.settings_dict["NAME"])
    held.acquire()  # as if another process were writing
    try:
        with file_db.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM answers")
            assert cursor.fetchone()[0] == 0
        assert gate_is_taken(path)
    finally:
        held.close()


@pytest.mark.django_db(transaction=True)  # the counters' own transaction: autocommit
def test_the_rate_limit_counters_take_it_for_their_own_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    assert getattr(connection, "write_gate", None) is None  # the test database is in memory
    settings.RATE_LIMIT_STORE = "database"
    path = str(tmp_path / "memory-stand-in")
    seen: list[bool] = []
    counting = ratelimit._count_in_turn

    def watched(*args: Any) -> Any:
        seen.append(gate_is_taken(f"{path}-writers.lock"))
        return counting(*args)

    monkeypatch.setattr(ratelimit, "_count_in_turn", watched)
    connection.ensure_connection()
    gate = WriteGate(path)
    monkeypatch.setattr(connection, "write_gate", gate)
    try:
        assert ratelimit.hit("gate-test", "client", 5) == 0
        assert seen == [True]
        assert not gate_is_taken(f"{path}-writers.lock")
        monkeypatch.setattr(ratelimit, "_UPSERT_QMARK", "INSERT INTO nowhere VALUES (?, ?)")
        assert ratelimit.hit("gate-test", "client", 5) == 0  # a failing store lets through
        assert not gate_is_taken(f"{path}-writers.lock")
    finally:
        gate.close()


def test_an_unusable_lock_file_costs_no_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gate = WriteGate(str(tmp_path / "missing-directory" / "kaiku.sqlite3"))
    gate.acquire()  # cannot create the file: goes on without the gate
    gate.acquire()
    assert not gate.held
    gate.release()
    gate.close()
    warnings = [r for r in caplog.records if "lock file unusable" in r.getMessage()]
    assert len(warnings) == 1  # said once, not on every write


def test_a_lock_file_made_by_another_user_still_serves(tmp_path: Path) -> None:
    database = str(tmp_path / "kaiku.sqlite3")
    path = f"{database}-writers.lock"
    Path(path).touch(mode=0o444)  # read-only, as another user's file would be to us
    os.chmod(path, 0o444)
    gate = WriteGate(database)
    gate.acquire()
    try:
        assert gate.held
        assert gate_is_taken(path)
    finally:
        gate.close()


@pytest.mark.django_db(transaction=True)
def test_single_counter_hits_from_many_connections_to_a_file_are_counted_exactly(
    tmp_path: Path, settings: Any
) -> None:
    """An API key's one counter is a single statement without BEGIN IMMEDIATE: SQLite's
    busy handler and the gate must still make concurrent writers take turns, none lost."""
    settings.RATE_LIMIT_STORE = "database"
    config = {
        "ENGINE": "kaiku.lib.sqlite",
        "NAME": str(tmp_path / "kaiku.sqlite3"),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;PRAGMA busy_timeout=20000;",
        },
    }
    handler = ConnectionHandler({"default": config})
    with handler["default"].cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {ratelimit.TABLE} (key varchar(64) NOT NULL PRIMARY KEY,"
            " hits integer NOT NULL, expires_at bigint NOT NULL)"
        )
    threads, each = 6, 40
    barrier = threading.Barrier(threads)
    refused: list[int] = []

    def hammer() -> None:
        # Each thread its own connection to the file, as each web process has.
        own = ConnectionHandler({"default": config})["default"]
        connections["default"] = own
        try:
            barrier.wait(timeout=10)
            refused.extend(w for _ in range(each) if (w := ratelimit.hit("k", "key", 10**6)))
        finally:
            own.close()

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    with handler["default"].cursor() as cursor:
        cursor.execute(f"SELECT sum(hits) FROM {ratelimit.TABLE}")  # noqa: S608
        assert cursor.fetchone()[0] == threads * each
    handler["default"].close()
    assert refused == []
