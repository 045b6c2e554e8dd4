"""`kaiku worker` on SIGTERM: the first signal ends the loop, it never exits mid-query.

db_worker's own handler exits at once when no task runs, which between two tasks
can be in the middle of claiming the next one: the connection was left
mid-statement and the worker exited 1 with a traceback (seen in the
two-processes deployment test). The first signal now only ends the loop; a
second one still stops the worker at once.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from kaiku.lib.management.commands.worker import KaikuWorker


@pytest.fixture
def worker() -> Iterator[KaikuWorker]:
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield KaikuWorker(
        periodic=False,
        queue_names=["default"],
        interval=1.0,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="shutdown-test",
        excluded_queue_names=[],
    )
    for signum, handler in handlers.items():  # a forced stop resets them to the defaults
        signal.signal(signum, handler)


def test_the_first_signal_between_tasks_only_ends_the_loop(worker: KaikuWorker) -> None:
    assert worker.running
    assert not worker.running_task
    worker.shutdown(signal.SIGTERM, None)  # db_worker's own handler: SystemExit here
    assert not worker.running


def test_the_first_signal_during_a_task_lets_it_finish(worker: KaikuWorker) -> None:
    worker.running_task = True
    worker.shutdown(signal.SIGTERM, None)
    assert not worker.running


def test_a_second_signal_stops_at_once(worker: KaikuWorker) -> None:
    worker.shutdown(signal.SIGTERM, None)
    with pytest.raises(SystemExit) as stopped:
        worker.shutdown(signal.SIGINT, None)
    assert stopped.value.code == 1
