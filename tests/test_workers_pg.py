"""Two real `kaiku worker` processes on PostgreSQL send a batch: each invitation exactly once.

Also the optional Redis queue (requirements-redis.txt), when it is installed.

The workers are subprocesses pointed at the test database and at an in-process
aiosmtpd server; the test only schedules invitations and waits. Several
dispatcher jobs are queued on purpose so that both workers claim at once.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from importlib.util import find_spec
from pathlib import Path
from typing import IO, Any

import pytest
from django.db import connection
from django.test import SimpleTestCase, TransactionTestCase

from kaiku.accounts.models import Workspace
from kaiku.contacts.models import Contact
from kaiku.surveys.models import Invitation, InvitationStatus, Survey
from kaiku.surveys.sending import schedule_invitations
from kaiku.surveys.tasks import dispatch_due_invitations
from tests.delivery_helpers import tokens_received
from tests.smtp import SmtpServer

ROOT = Path(__file__).resolve().parent.parent
INVITATIONS = 300
WORKERS = 2


def _database_url() -> str:
    settings = connection.settings_dict
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


class _Worker:
    """A `kaiku worker` subprocess whose log lines are kept for the test to wait on."""

    def __init__(self, name: str, smtp: SmtpServer) -> None:
        env = {
            **os.environ,
            "KAIKU_DATABASE_URL": _database_url(),
            "KAIKU_EMAIL_HOST": smtp.host,
            "KAIKU_EMAIL_PORT": str(smtp.port),
            "KAIKU_TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
            "KAIKU_LOG_LEVEL": "INFO",
        }
        self.name = name
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kaiku",
                "worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0.1",
                "--worker-id",
                name,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line.rstrip())

    def wait_until_started(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any("Starting worker" in line for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker {self.name} did not start:\n" + self.log())
            time.sleep(0.05)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def log(self) -> str:
        return "\n".join(self.lines[-40:])


@pytest.mark.postgres
class TwoWorkersTests(TransactionTestCase):
    def test_two_workers_send_each_invitation_exactly_once(self) -> None:
        workspace = Workspace.objects.create(
            name="Acme", slug="acme", email_rate_per_minute=100_000
        )
        survey = Survey.objects.create(workspace=workspace, name="NPS")
        Contact.objects.bulk_create(
            Contact(workspace=workspace, email=f"p{i}@example.org", name=f"P {i}")
            for i in range(INVITATIONS)
        )
        with SmtpServer() as smtp:
            workers = [_Worker(f"worker-{i}", smtp) for i in range(WORKERS)]
            try:
                for worker in workers:
                    worker.wait_until_started()
                # Enqueues a dispatcher after commit; three more make the two
                # workers claim at the same moment.
                summary = schedule_invitations(survey, Contact.objects.all())
                for _ in range(3):
                    dispatch_due_invitations.enqueue()
                assert summary.scheduled == INVITATIONS
                self._wait_until_all_sent(workers)
                smtp.wait_for(INVITATIONS, timeout=10)
                time.sleep(1)  # a duplicate would arrive now
            finally:
                codes = [worker.stop() for worker in workers]
            messages = smtp.messages
        assert all(code in (0, -signal.SIGTERM) for code in codes), codes
        tokens = Counter(tokens_received(messages))
        expected = set(Invitation.objects.values_list("token", flat=True))
        assert len(messages) == INVITATIONS
        assert set(tokens) == expected
        assert max(tokens.values()) == 1, [t for t, n in tokens.items() if n > 1]
        statuses = Counter(Invitation.objects.values_list("status", flat=True))
        assert statuses == {InvitationStatus.SENT: INVITATIONS}
        senders = self._workers_that_sent()
        assert len(senders) == WORKERS, f"both workers should have sent: {senders}"

    def _wait_until_all_sent(self, workers: list[_Worker], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while Invitation.objects.filter(status=InvitationStatus.SENT).count() < INVITATIONS:
            if time.monotonic() > deadline:
                logs = "\n\n".join(f"--- {w.name}\n{w.log()}" for w in workers)
                raise AssertionError(f"not all invitations were sent in {timeout} s\n{logs}")
            time.sleep(0.2)

    def _workers_that_sent(self) -> set[Any]:
        from django_tasks_db.models import DBTaskResult

        rows = DBTaskResult.objects.filter(task_path__endswith="send_invitations")
        return {worker for ids in rows.values_list("worker_ids", flat=True) for worker in ids}


def _redis_server() -> str | None:
    return shutil.which("redis-server")


@pytest.mark.postgres
@pytest.mark.skipif(
    find_spec("django_tasks_rq") is None or _redis_server() is None,
    reason="the optional Redis queue needs requirements-redis.txt and redis-server",
)
class RedisQueueTests(TransactionTestCase):
    """The optional Redis backend: periodic dispatch in `kaiku worker --periodic-only`,
    send jobs in two `kaiku rqworker` processes; still each invitation once."""

    def test_two_rq_workers_send_each_invitation_exactly_once(self) -> None:
        workspace = Workspace.objects.create(name="Acme", slug="acme", email_rate_per_minute=10_000)
        survey = Survey.objects.create(workspace=workspace, name="NPS")
        Contact.objects.bulk_create(
            Contact(workspace=workspace, email=f"p{i}@example.org") for i in range(INVITATIONS)
        )
        schedule_invitations(survey, Contact.objects.all())
        port = _free_port()
        redis = subprocess.Popen(
            [_redis_server() or "", "--port", str(port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        try:
            with SmtpServer() as smtp:
                env = _rq_env(smtp, f"redis://127.0.0.1:{port}/0")
                _wait_for_port(port)
                _kaiku(env, "worker", "--periodic-only", "--once").wait(timeout=60)
                workers = [
                    _kaiku(env, "rqworker", "--burst", "--job-class", "django_tasks_rq.Job")
                    for _ in range(WORKERS)
                ]
                assert [w.wait(timeout=120) for w in workers] == [0] * WORKERS
                messages = smtp.wait_for(INVITATIONS, timeout=10)
        finally:
            redis.terminate()
            redis.wait(timeout=10)
        tokens = Counter(tokens_received(messages))
        assert len(messages) == INVITATIONS
        assert max(tokens.values()) == 1
        assert set(Invitation.objects.values_list("status", flat=True)) == {"sent"}


class RedisSettingsTests(SimpleTestCase):
    def test_the_redis_backend_needs_a_redis_url(self) -> None:
        env = {**os.environ, "KAIKU_TASKS_BACKEND": "django_tasks_rq.RQBackend"}
        env.pop("KAIKU_REDIS_URL", None)
        result = subprocess.run(
            [sys.executable, "-c", "import kaiku.settings"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode != 0
        assert "needs KAIKU_REDIS_URL" in result.stderr


def _rq_env(smtp: SmtpServer, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "KAIKU_DATABASE_URL": _database_url(),
        "KAIKU_EMAIL_HOST": smtp.host,
        "KAIKU_EMAIL_PORT": str(smtp.port),
        "KAIKU_TASKS_BACKEND": "django_tasks_rq.RQBackend",
        "KAIKU_REDIS_URL": redis_url,
    }


def _kaiku(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "kaiku", *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")
