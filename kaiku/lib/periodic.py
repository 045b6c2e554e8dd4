"""Periodic jobs, run by the workers: `@periodic(every=timedelta(minutes=1))`.

    from kaiku.lib.periodic import periodic

    @periodic(every=timedelta(minutes=5), name="surveys.reminders")
    def send_due_reminders() -> None: ...

Put registrations in an app's `periodic_jobs.py` (found automatically) or in a
module that one imports. Each `kaiku worker` runs a scheduler thread; time is
cut into slots of `every` (aligned on the Unix epoch), and for each job and slot
every scheduler tries to insert a PeriodicRun(name, slot) row. The unique
constraint lets exactly one insert win, so with N workers each job runs once
per slot, in the winner's scheduler thread. A worker that dies after winning
loses that slot's run; the next slot runs as usual. Jobs are therefore sweeps
over rows with due times, safe to skip once and to run twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import import_module
from typing import TypeVar

from django.apps import apps
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.module_loading import module_has_submodule

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[[], object])
MODULE_NAME = "periodic_jobs"
KEEP_RUNS = timedelta(days=2)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    func: Callable[[], object]

    def slot(self, now: datetime) -> datetime:
        """The start of the slot `now` falls in."""
        seconds = self.every.total_seconds()
        start = (now.timestamp() // seconds) * seconds
        return datetime.fromtimestamp(start, tz=UTC)


_registry: dict[str, PeriodicJob] = {}
_discovered = False


def periodic(*, every: timedelta, name: str | None = None) -> Callable[[F], F]:
    """Register a function without arguments to run once per `every`, across all workers."""
    if every < timedelta(seconds=1):
        raise ValueError("periodic jobs run at most once a second")

    def register(func: F) -> F:
        job_name = name or f"{func.__module__}.{func.__qualname__}"
        _registry[job_name] = PeriodicJob(job_name, every, func)
        return func

    return register


def autodiscover() -> None:
    """Import every installed app's `periodic_jobs` module (once)."""
    global _discovered
    if _discovered:
        return
    for config in apps.get_app_configs():
        if module_has_submodule(config.module, MODULE_NAME):
            import_module(f"{config.name}.{MODULE_NAME}")
    _discovered = True


def registered() -> list[PeriodicJob]:
    autodiscover()
    return sorted(_registry.values(), key=lambda job: job.name)


def claim(job: PeriodicJob, slot: datetime, worker: str = "") -> bool:
    """True for the one caller, across all processes, that gets to run `job` in `slot`."""
    from kaiku.surveys.models import PeriodicRun  # kaiku.lib holds no models

    try:
        with transaction.atomic():
            PeriodicRun.objects.create(name=job.name, slot=slot, worker=worker[:64])
    except IntegrityError:
        return False
    return True


def run_due(
    worker: str = "", now: datetime | None = None, seen: dict[str, datetime] | None = None
) -> list[str]:
    """Run each job whose current slot this caller wins; the names of those run.

    `seen` (kept by a scheduler between calls) skips slots already tried, so a
    scheduler ticking every second inserts one row per job and slot, not 60.
    """
    now = now or timezone.now()
    ran = []
    for job in registered():
        slot = job.slot(now)
        if seen is not None:
            if seen.get(job.name) == slot:
                continue
            seen[job.name] = slot
        if not claim(job, slot, worker):
            continue
        try:
            job.func()
            ran.append(job.name)
        except Exception:  # one failing job must not stop the others or the scheduler
            logger.exception("periodic job %s failed", job.name)
    return ran


class Ticker(threading.Thread):
    """A worker's background thread: step() every `tick` seconds until stopped.

    step() returns True when there is more to do at once (no wait). An error is
    logged and the next tick tries again: the database may be restarting.
    """

    def __init__(self, name: str, tick: float) -> None:
        super().__init__(name=name, daemon=True)
        self.tick = tick
        self.stopped = threading.Event()

    def step(self) -> bool:
        raise NotImplementedError

    def run(self) -> None:
        try:
            while not self.stopped.is_set():
                close_old_connections()
                try:
                    more = self.step()
                except Exception:
                    logger.exception("%s: tick failed", self.name)
                    more = False
                if not more:
                    self.stopped.wait(self.tick)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()


class Scheduler(Ticker):
    """A worker's scheduler thread: `run_due` every `tick` seconds until stopped."""

    def __init__(self, worker: str, tick: float = 1.0) -> None:
        super().__init__("kaiku-periodic", tick)
        self.worker = worker
        self._seen: dict[str, datetime] = {}

    def run(self) -> None:
        logger.info("periodic scheduler started (%d jobs)", len(registered()))
        super().run()

    def step(self) -> bool:
        run_due(self.worker, seen=self._seen)
        return False


@periodic(every=timedelta(hours=1), name="lib.prune_periodic_runs")
def prune_periodic_runs() -> None:
    """Old slot claims are only history; keep two days for debugging."""
    from kaiku.surveys.models import PeriodicRun

    PeriodicRun.objects.filter(slot__lt=timezone.now() - KEEP_RUNS).delete()
