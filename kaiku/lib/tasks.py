"""Kaiku's database job queue: django-tasks-db with a cheaper enqueue, and outboxes.

The ORM spends longer compiling a job's INSERT than the database spends running
it. This backend writes the same row as django-tasks-db's (tests/test_plainsql.py
compares them column by column) through kaiku.lib.plainsql.insert, which builds
the INSERT once. Everything else (the worker, results, the admin) is django-tasks-db's.

Outboxes: the answer path does not enqueue at all. It writes one small row of
its own in the answer's transaction (kaiku.responses.outbox), and every
`kaiku worker` moves such rows into the job queue in a thread of its own
(OutboxPump), a batch at a time. An app registers its outbox with
`register_outbox()`; the health endpoint counts what waits in them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from django.db import router
from django_tasks.base import Task
from django_tasks.utils import normalize_json
from django_tasks_db import backend

from kaiku.lib.periodic import Ticker
from kaiku.lib.plainsql import insert

if TYPE_CHECKING:
    from django_tasks_db.models import DBTaskResult

# How long a worker's pump waits when its outboxes are empty: at most this much
# is added to the time between an answer and its job.
PUMP_TICK_SECONDS = 0.1


class DatabaseBackend(backend.DatabaseBackend):
    def _task_to_db_task(self, task: Task[Any, Any], args: Any, kwargs: Any) -> DBTaskResult:
        from django_tasks_db.models import DBTaskResult  # models need the app registry

        result: DBTaskResult = DBTaskResult(
            id=self._get_id(),
            args_kwargs=normalize_json({"args": args, "kwargs": kwargs}),
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            run_after=task.run_after,  # type: ignore[misc]  # None: set by its pre_save
            backend_name=self.alias,
        )
        insert(result, using=router.db_for_write(DBTaskResult))
        return result


class Outbox(Protocol):
    """Rows written by web requests that stand for jobs still to be enqueued."""

    name: str

    def drain(self) -> int:
        """Move a batch of rows into the job queue, atomically; how many were moved."""

    def backlog(self) -> tuple[int, datetime | None]:
        """How many rows wait, and when the oldest was written."""


_outboxes: dict[str, Outbox] = {}


def register_outbox(outbox: Outbox) -> None:
    _outboxes[outbox.name] = outbox


def outboxes() -> list[Outbox]:
    return list(_outboxes.values())


def drain_outboxes() -> int:
    """One batch from every outbox; how many jobs were enqueued."""
    return sum(outbox.drain() for outbox in outboxes())


def drain_all_outboxes() -> int:
    """Every row of every outbox (`kaiku worker --once`, tests)."""
    total = moved = drain_outboxes()
    while moved:
        moved = drain_outboxes()
        total += moved
    return total


class OutboxPump(Ticker):
    """A worker's thread that moves outbox rows into the job queue as they come."""

    def __init__(self, tick: float = PUMP_TICK_SECONDS) -> None:
        super().__init__("kaiku-outbox", tick)

    def step(self) -> bool:
        return drain_outboxes() > 0  # a full batch may have more behind it
