"""Django's SQLite backend, with writers taking turns through a file lock, and
its placeholder conversion remembered per query text.

SQLite lets one writer at a time in; another one that finds the write lock
taken is put to sleep by SQLite's busy handler in steps of 1, 2, 5, 10 ms and
more, however soon the lock comes free (writes here take ~0.1 ms). With two web
processes most of the wait was such sleeping. A write transaction first takes
an exclusive flock() on a file beside the database: the kernel wakes the next
waiter the moment it is released, and SQLite's own lock is then free. A process
that dies holding it releases it with its file descriptor.

Django turns each query's `%s` placeholders into SQLite's `?` with a regular
expression on every execute: ~20 µs for a 2 KB statement such as an answer's
INSERT, more than SQLite takes to run it. The same texts come back on every
request, so the converted text is kept (short texts only, a bounded number).
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from django.db.backends.sqlite3 import base

logger = logging.getLogger(__name__)


class WriteGate:
    """An exclusive flock() on `<database>-writers.lock`, held for one write transaction."""

    def __init__(self, database: str) -> None:
        self.path = f"{database}-writers.lock"
        self.fd: int | None = None
        self.held = False
        self.unusable = False

    def acquire(self) -> None:
        """Wait for the gate; without a usable lock file, go on ungated (and say so).

        The gate only saves waiting: SQLite's own lock keeps writes correct, so a
        lock file that cannot be opened must not cost a write. Read-only is enough
        for flock(), so a file another user created (say, `sudo kaiku migrate` as
        root) still serves.
        """
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o644)
            except OSError as exc:
                if not self.unusable:
                    logger.warning("SQLite writers' lock file unusable, writing without: %s", exc)
                self.unusable = True
                return
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.held = True

    def release(self) -> None:
        if self.held and self.fd is not None:
            self.held = False
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self.release()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# Longer texts (bulk inserts, long IN lists) are rarely repeated: converted each time.
QMARK_CACHE_MAX_LENGTH = 8192


@lru_cache(maxsize=1024)
def _qmark(query: str) -> str:
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class CursorWrapper(base.SQLiteCursorWrapper):
    # Django's own conversion, called by execute() and executemany(); not in django-stubs.
    def convert_query(self, query: str, *, param_names: list[str] | None = None) -> str:
        if param_names is None and len(query) <= QMARK_CACHE_MAX_LENGTH:
            return _qmark(query)
        return super().convert_query(query, param_names=param_names)  # type: ignore[misc]


class DatabaseWrapper(base.DatabaseWrapper):
    write_gate: WriteGate | None = None

    def create_cursor(self, name: str | None = None) -> Any:
        return self.connection.cursor(factory=CursorWrapper)

    def get_new_connection(self, conn_params: Any) -> Any:
        connection = super().get_new_connection(conn_params)
        if self.write_gate is None and not self.is_in_memory_db():
            self.write_gate = WriteGate(str(self.settings_dict["NAME"]))
        return connection

    # How Django's SQLite backend begins every transaction (BEGIN IMMEDIATE here);
    # private, so not in django-stubs.
    def _start_transaction_under_autocommit(self) -> None:
        if self.write_gate is None:
            return super()._start_transaction_under_autocommit()  # type: ignore[misc]
        self.write_gate.acquire()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self.write_gate.release()
            raise

    def commit(self) -> None:
        with self._then_let_go():
            super().commit()

    def rollback(self) -> None:
        with self._then_let_go():
            super().rollback()

    def close(self) -> None:
        with self._then_let_go(close=True):
            super().close()

    @contextmanager
    def _then_let_go(self, close: bool = False) -> Iterator[None]:
        """Release the gate once the block is over, whether it worked or raised."""
        try:
            yield
        finally:
            if self.write_gate is not None:
                self.write_gate.release()
                if close:
                    self.write_gate.close()
                    self.write_gate = None
