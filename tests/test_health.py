"""GET /healthz: database and queue state for load balancers, cheap and without a session."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import psycopg
import time_machine
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone

from kaiku.lib.tasks import drain_all_outboxes
from kaiku.responses.actions import record_response
from kaiku.responses.models import Channel
from kaiku.responses.tasks import process_response
from kaiku.surveys.tasks import dispatch_due_invitations
from tests.base import BaseTestCase
from tests.smtp import IMMEDIATE_TASKS

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _connection_refused() -> OperationalError:
    error = OperationalError("connection failed: Connection refused")
    error.__cause__ = psycopg.OperationalError("connection failed: Connection refused")
    return error


@override_settings(TASKS=DB_TASKS)
class HealthTests(BaseTestCase):
    def test_it_reports_the_database_and_an_empty_queue(self) -> None:
        response = self.client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {
            "status": "ok",
            "database": "ok",
            "queue": {"pending": 0, "running": 0, "oldest_pending_age_s": None},
        }

    def test_it_counts_due_jobs_and_the_age_of_the_oldest(self) -> None:
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            process_response.enqueue(1)
        with time_machine.travel(start + timedelta(seconds=30), tick=False):
            dispatch_due_invitations.enqueue()
            # Not due yet: a deferred job is not a backlog.
            later = timezone.now() + timedelta(hours=1)
            dispatch_due_invitations.using(run_after=later).enqueue()
            queue = self.client.get("/healthz").json()["queue"]
        assert queue == {"pending": 2, "running": 0, "oldest_pending_age_s": 30.0}

    def test_it_counts_answers_waiting_in_the_outbox_too(self) -> None:
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            record_response(survey=self.survey, score=9, channel=Channel.API)
        with time_machine.travel(start + timedelta(seconds=12), tick=False):
            dispatch_due_invitations.enqueue()
            queue = self.client.get("/healthz").json()["queue"]
            assert queue == {"pending": 2, "running": 0, "oldest_pending_age_s": 12.0}
            drain_all_outboxes()  # the answer's row becomes a job: still one backlog item
            assert self.client.get("/healthz").json()["queue"]["pending"] == 2

    def test_it_costs_two_queries_and_sets_no_cookie(self) -> None:
        # One on the job queue, one on the answers' outbox.
        with self.assertNumQueries(2):
            response = self.client.get("/healthz")
        assert response.cookies == {}
        assert "no-cache" in response["Cache-Control"]

    def test_a_database_it_cannot_reach_is_a_503_with_retry_after(self) -> None:
        with mock.patch("kaiku.lib.health.queue_state", side_effect=_connection_refused()):
            response = self.client.get("/healthz")
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
        assert response.json() == {"status": "unavailable", "database": "unreachable"}

    def test_it_needs_no_login_and_refuses_writes(self) -> None:
        self.login_as(self.charlie)  # anyone, logged in or not, sees the same
        assert self.client.get("/healthz").status_code == 200
        assert self.client.post("/healthz").status_code == 405

    def test_head_works_for_probes_that_use_it(self) -> None:
        assert self.client.head("/healthz").status_code == 200

    @override_settings(TASKS=IMMEDIATE_TASKS)
    def test_without_a_database_queue_it_still_checks_the_database(self) -> None:
        with self.assertNumQueries(1):
            body = self.client.get("/healthz").json()
        assert body["database"] == "ok"
        assert body["queue"] == {"backend": "ImmediateBackend", "pending": None}

    @override_settings(DEBUG=False, SECURE_SSL_REDIRECT=True, SECURE_REDIRECT_EXEMPT=[r"^healthz$"])
    def test_plain_http_probes_are_not_redirected_to_https(self) -> None:
        assert self.client.get("/healthz").status_code == 200
        assert self.client.get("/accounts/login/").status_code == 301
