"""`kaiku worker`: run background jobs from the database queue, and periodic jobs.

django-tasks-db's `db_worker` with every one of its options, plus a scheduler
thread that runs the periodic jobs of kaiku.lib.periodic (dispatching due
invitations, reminders, waves). Run as many as you like: on PostgreSQL, queued
jobs are claimed with row locks (SELECT … FOR UPDATE SKIP LOCKED), and each
periodic job's time slot is claimed by one insert that only one worker wins.

Each worker also runs an outbox pump thread (kaiku.lib.tasks.OutboxPump): answers
leave their job in an outbox row, which the pump moves into the queue.

`--once` runs the periodic jobs that are due, moves every outbox row into the
queue, then runs every queued job, and exits: for cron-style setups and tests.
`--periodic-only` runs just the scheduler, for a queue backend with workers of
its own (Redis, see docs/sending.md).
"""

from __future__ import annotations

import logging
import os
import signal
from argparse import ArgumentParser, ArgumentTypeError
from types import FrameType
from typing import Any

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker, valid_backend_name

from kaiku.lib.periodic import Scheduler, Ticker, run_due
from kaiku.lib.tasks import OutboxPump, drain_all_outboxes

logger = logging.getLogger(__name__)


class KaikuWorker(Worker):
    """db_worker's loop with the periodic scheduler and the outbox pump beside it."""

    def __init__(self, *, periodic: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.periodic = periodic

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        """Stop after the current step; a second signal stops at once (as db_worker).

        db_worker's first signal exits at once when no task is running, to cut its
        sleep short. But between tasks the main thread may be in a query (claiming
        the next task), and an exit raised there left the connection mid-statement:
        the transaction's cleanup then failed and the worker exited 1 with a
        traceback. So the first signal only ends the loop, which checks it after
        each task and each sleep (the poll interval, 1 s by default).
        """
        if not self.running:
            super().shutdown(signum, frame)
            return
        logger.warning("Received %s - stopping after the current step.", signal.strsignal(signum))
        self.running = False

    def run(self) -> None:
        # Started here, not in handle(): with --reload, run() is what executes
        # in the reloaded child process.
        threads: list[Ticker] = [OutboxPump()]
        if self.periodic:
            threads.append(Scheduler(self.worker_id))
        for thread in threads:
            thread.start()
        try:
            super().run()
        finally:
            for thread in threads:
                thread.stop()


def _any_backend(value: str) -> str:
    """db_worker refuses non-database backends while parsing arguments; a
    periodic-only worker does not use the queue, so the check waits for handle()."""
    return value


class Command(DbWorkerCommand):
    help = "Run a background worker for Kaiku's job queue and periodic jobs."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        for action in parser._actions:
            if action.dest == "backend_name":
                action.type = _any_backend
        parser.add_argument(
            "--once",
            action="store_true",
            help="Run due periodic jobs, then all queued jobs, then exit.",
        )
        parser.add_argument(
            "--no-periodic",
            action="store_false",
            dest="periodic",
            help="Do not run periodic jobs in this worker (only queued jobs).",
        )
        parser.add_argument(
            "--periodic-only",
            action="store_true",
            help="Run only the periodic jobs (with a queue backend that has its own workers).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        once, periodic = options.pop("once"), options.pop("periodic")
        if options.pop("periodic_only"):
            self._periodic_only(options["worker_id"], once)
            return
        try:
            valid_backend_name(options["backend_name"])
        except ArgumentTypeError as exc:
            raise CommandError(
                f"{exc}. With the Redis queue, run `kaiku rqworker --job-class "
                "django_tasks_rq.Job default` and `kaiku worker --periodic-only`."
            ) from None
        if once:
            run_due(options["worker_id"])
            drain_all_outboxes()
            options.update(batch=True, reload=False, startup_delay=False)
            periodic = False
        self._run(self._worker(periodic, options), options["reload"] and not options["batch"])

    def _worker(self, periodic: bool, options: dict[str, Any]) -> KaikuWorker:
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        return KaikuWorker(
            periodic=periodic,
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )

    def _run(self, worker: KaikuWorker, reload: bool) -> None:
        # As db_worker does: only the reloaded child handles signals.
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()

    def _periodic_only(self, worker_id: str, once: bool) -> None:
        if once:
            run_due(worker_id)
            return
        scheduler = Scheduler(worker_id)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_args: scheduler.stop())
        scheduler.run()  # in this thread, until a signal stops it
