"""The production shape on PostgreSQL: two web processes, two workers, one survey send.

Two granian web processes (KAIKU_DEBUG=false, a secret key, allowed hosts) on two free
loopback ports and two `kaiku worker` processes, all real processes on the test
database, and a real aiosmtpd server as the mail relay. The test only talks HTTP:

1. invitations are created through the API (POST /api/v1/surveys/{id}/invitations),
   alternating between the two web processes; the workers dispatch and send them;
2. public-link answers are posted concurrently, split across both web processes;
3. every invitation is answered through the link in its email, again split.

Then: every invitation was emailed exactly once, every answer is stored once and was
processed by exactly one job (both workers' outbox pumps moving answers into the queue).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.test import TransactionTestCase
from django_tasks_db.models import DBTaskResult

from kaiku.accounts.models import Workspace
from kaiku.api.actions import create_api_key
from kaiku.api.models import Scope
from kaiku.responses.models import Channel, ProcessingOutbox, Response
from kaiku.responses.tasks import process_response
from kaiku.surveys.models import Invitation, InvitationStatus, Survey
from tests.delivery_helpers import token_of, tokens_received
from tests.live_stack import (
    LiveProcess,
    WebProcess,
    WorkerProcess,
    kaiku_env,
    post_form,
    post_json,
    wait_for,
)
from tests.smtp import SmtpServer

INVITATIONS = 60
PUBLIC_ANSWERS = 200
THREADS = 8


@pytest.mark.postgres
class TwoWebTwoWorkersTests(TransactionTestCase):
    def test_a_send_and_its_answers_through_two_web_processes_and_two_workers(self) -> None:
        workspace = Workspace.objects.create(
            name="Acme", slug="acme", email_rate_per_minute=100_000, languages=["en"]
        )
        survey = Survey.objects.create(workspace=workspace, name="NPS")
        _key, token = create_api_key(workspace, "CRM", Scope.READ_WRITE, None, None)
        with SmtpServer() as smtp, tempfile.TemporaryDirectory() as data_dir:
            env = kaiku_env(
                Path(data_dir), KAIKU_EMAIL_HOST=smtp.host, KAIKU_EMAIL_PORT=str(smtp.port)
            )
            webs = [WebProcess(env, f"web-{i}") for i in range(2)]
            workers = [WorkerProcess(env, f"worker-{i}") for i in range(2)]
            try:
                for web in webs:
                    web.wait_until_healthy()
                for worker in workers:
                    worker.wait_until_started()
                self.invite_through_the_api(webs, survey, token)
                messages = self.wait_until_sent(smtp, [*webs, *workers])
                self.answer_the_public_link(webs, survey)
                self.answer_the_emails(webs, messages)
                self.wait_until_processed(survey, [*webs, *workers])
            finally:
                codes = [process.stop() for process in [*webs, *workers]]
                logs = "\n".join(process.log() for process in [*webs, *workers])
        assert all(code in (0, -15) for code in codes), f"{codes}\n{logs}"
        self.assert_exactly_once(smtp.messages, survey)

    def invite_through_the_api(self, webs: list[WebProcess], survey: Survey, token: str) -> None:
        def invite(i: int) -> int:
            url = f"{webs[i % 2].url}/api/v1/surveys/{survey.pk}/invitations"
            body = {"contact": {"email": f"p{i}@example.org"}, "idempotency_key": f"inv-{i}"}
            status, _headers, text = post_json(url, body, token)
            assert status == 201, text
            return int(json.loads(text)["id"])

        with ThreadPoolExecutor(THREADS) as pool:
            ids = list(pool.map(invite, range(INVITATIONS)))
        assert len(set(ids)) == INVITATIONS

    def wait_until_sent(self, smtp: SmtpServer, processes: list[LiveProcess]) -> list[EmailMessage]:
        sent = Invitation.objects.filter(status=InvitationStatus.SENT)
        wait_for(
            lambda: sent.count() == INVITATIONS,
            120,
            lambda: "not all invitations were sent\n" + "\n".join(p.log() for p in processes),
        )
        return smtp.wait_for(INVITATIONS, timeout=30)

    def answer_the_public_link(self, webs: list[WebProcess], survey: Survey) -> None:
        def answer(i: int) -> int:
            url = f"{webs[i % 2].url}/s/{survey.public_id}/"
            fields = {"score": str(i % 11), "lang": "en", "nonce": f"public-answer-{i:06d}"}
            return post_form(url, fields)[0]

        with ThreadPoolExecutor(THREADS) as pool:
            statuses = Counter(pool.map(answer, range(PUBLIC_ANSWERS)))
        assert statuses == {303: PUBLIC_ANSWERS}

    def answer_the_emails(self, webs: list[WebProcess], messages: list[EmailMessage]) -> None:
        def answer(pair: tuple[int, EmailMessage]) -> int:
            i, message = pair
            url = f"{webs[i % 2].url}/r/{token_of(message)}/"
            return post_form(url, {"score": "9", "lang": "en"})[0]

        with ThreadPoolExecutor(THREADS) as pool:
            statuses = Counter(pool.map(answer, enumerate(messages)))
        assert statuses == {303: INVITATIONS}

    def wait_until_processed(self, survey: Survey, processes: list[LiveProcess]) -> None:
        """Both workers' outbox pumps move the answers into the queue: one job each."""
        answers = set(Response.objects.filter(survey=survey).values_list("pk", flat=True))
        assert len(answers) == PUBLIC_ANSWERS + INVITATIONS
        jobs = DBTaskResult.objects.filter(task_path=process_response.module_path)
        wait_for(
            lambda: jobs.filter(status="SUCCESSFUL").count() >= len(answers),
            120,
            lambda: "not every answer was processed\n" + "\n".join(p.log() for p in processes),
        )
        processed = Counter(job.args_kwargs["args"][0] for job in jobs)
        assert set(processed) == answers
        assert max(processed.values()) == 1, "an answer was queued twice"
        assert not ProcessingOutbox.objects.exists()

    def assert_exactly_once(self, messages: list[EmailMessage], survey: Survey) -> None:
        tokens = Counter(tokens_received(messages))
        assert set(tokens) == set(Invitation.objects.values_list("token", flat=True))
        assert max(tokens.values()) == 1, "an invitation was emailed twice"
        public = Response.objects.filter(survey=survey, channel=Channel.LINK)
        keys = list(public.values_list("idempotency_key", flat=True))
        assert len(keys) == len(set(keys)) == PUBLIC_ANSWERS
        by_email = Response.objects.filter(survey=survey, channel=Channel.EMAIL)
        assert by_email.count() == INVITATIONS
        assert by_email.values("invitation").distinct().count() == INVITATIONS
        statuses = Counter(Invitation.objects.values_list("status", flat=True))
        assert statuses == {InvitationStatus.RESPONDED: INVITATIONS}
