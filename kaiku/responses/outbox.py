"""The processing outbox: how a new or changed answer reaches the `process_response` job.

With the database queue, queue_processing() writes one ProcessingOutbox row in
the answer's own transaction: workers see the answer and its row at the commit,
or neither, exactly as when the job row itself was written there, at a fraction
of the cost on the busiest path (docs/performance.md, ingestion). Each
`kaiku worker` moves rows into the job queue (drain(), in its OutboxPump thread,
every 0.1 s when idle): one transaction deletes a batch and enqueues its jobs,
so a row becomes exactly one job, or stays if the worker dies half-way. On
PostgreSQL concurrent workers take disjoint batches (FOR UPDATE SKIP LOCKED);
on SQLite the write lock makes them take turns.

On PostgreSQL a new answer with no webhook listener writes its row in the answer's
own INSERT (queued_with_insert(): a data-modifying WITH), one statement that needs
no transaction at all.

With any other queue (Redis, the immediate backend of tests) the job is enqueued
straight after the commit, as before.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.db import connections, router, transaction
from django.db.models import Count, Min
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend

from kaiku.lib.plainsql import Also
from kaiku.lib.tasks import register_outbox
from kaiku.responses.models import ProcessingOutbox
from kaiku.responses.tasks import process_response

BATCH = 500
TABLE = ProcessingOutbox._meta.db_table
_ADD = (
    f'INSERT INTO "{TABLE}" (response_id, queued_at) VALUES (%s, %s) '  # noqa: S608 - constant
    "ON CONFLICT (response_id) DO NOTHING"
)
_TAKE = (
    f'DELETE FROM "{TABLE}" WHERE response_id IN '  # noqa: S608 - constant
    f'(SELECT response_id FROM "{TABLE}" ORDER BY response_id LIMIT %s{{lock}}) '
    "RETURNING response_id"
)


_ADD_NEW = (
    f'INSERT INTO "{TABLE}" (response_id, queued_at) SELECT id, %s FROM new '  # noqa: S608
    "ON CONFLICT (response_id) DO NOTHING"
)


def queued_with_insert(using: str) -> Also | None:
    """The outbox row as a part of the answer's own INSERT (plainsql's `also`): an
    answer and its row in one statement, which needs no transaction. None where that
    cannot be: another queue, or SQLite (no INSERT in a WITH), which then call
    queue_processing() in the answer's transaction."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not _database_queue():
        return None
    return Also(_ADD_NEW, [connection.ops.adapt_datetimefield_value(timezone.now())])


def _database_queue() -> bool:
    return isinstance(process_response.get_backend(), DatabaseBackend)


def queue_processing(response_id: int) -> None:
    """Have process_response run for this answer once the caller's transaction commits.

    An answer changed again before its row was moved keeps the one row: the job
    reads the answer as it is then.
    """
    if not _database_queue():
        # Another queue: only after the commit. robust: the answer is committed
        # whatever happens to the queue; a failed enqueue is logged rather than
        # turned into an error page for the respondent.
        transaction.on_commit(partial(process_response.enqueue, response_id), robust=True)
        return
    connection = connections[router.db_for_write(ProcessingOutbox)]
    queued_at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_ADD, [response_id, queued_at])


class ResponseOutbox:
    name = "responses.process"

    def drain(self, limit: int = BATCH) -> int:
        using = router.db_for_write(ProcessingOutbox)
        if not ProcessingOutbox.objects.using(using).exists():
            return 0  # a read: an idle pump never takes SQLite's write lock
        connection = connections[using]
        lock = (
            " FOR UPDATE SKIP LOCKED"
            if connection.features.has_select_for_update_skip_locked
            else ""
        )
        with transaction.atomic(using=using):
            with connection.cursor() as cursor:
                cursor.execute(_TAKE.format(lock=lock), [limit])
                taken = sorted(row[0] for row in cursor.fetchall())
            for response_id in taken:
                process_response.enqueue(response_id)
        return len(taken)

    def backlog(self) -> tuple[int, datetime | None]:
        row = ProcessingOutbox.objects.aggregate(rows=Count("pk"), oldest=Min("queued_at"))
        return row["rows"], row["oldest"]


register_outbox(ResponseOutbox())
