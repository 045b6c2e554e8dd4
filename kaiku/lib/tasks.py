"""Kaiku's database job queue: django-tasks-db with an enqueue built for the answer path.

Every answer enqueues a job in its own transaction, and the ORM spends longer
compiling that INSERT than the database spends running it. This backend writes
the same row as django-tasks-db's (tests/test_plainsql.py compares them
column by column) through kaiku.lib.plainsql.insert, which builds the INSERT
once. Everything else (the worker, results, the admin) is django-tasks-db's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import router
from django_tasks.base import Task
from django_tasks.utils import normalize_json
from django_tasks_db import backend

from kaiku.lib.plainsql import insert

if TYPE_CHECKING:
    from django_tasks_db.models import DBTaskResult


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
