"""Shared set-up of the loop tests: Acme with a survey, contacts and answers.

`LoopTestCase` adds to the personas: Dana, an admin, and Vic, a viewer of Acme.
`answer()` records an answer the way every channel does (record_response) and
runs its process_response job, so rules, cases and alerts run for real.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.test import override_settings

from kaiku.accounts.models import Membership, Role, User
from kaiku.contacts.models import Contact
from kaiku.loop.models import Case, LoopSettings
from kaiku.responses.actions import record_response
from kaiku.responses.models import Response
from kaiku.responses.tasks import process_response
from kaiku.surveys.models import Survey
from kaiku.themes.assignment import clear_matcher_cache
from tests.base import PASSWORD, BaseTestCase

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


class LoopTestCase(BaseTestCase):
    dana: User
    vic: User
    ann: Contact

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.dana = User.objects.create_user("dana@example.org", PASSWORD, name="Dana")
        cls.vic = User.objects.create_user("vic@example.org", PASSWORD, name="Vic")
        Membership.objects.create(workspace=cls.workspace, user=cls.dana, role=Role.ADMIN)
        Membership.objects.create(workspace=cls.workspace, user=cls.vic, role=Role.VIEWER)
        cls.ann = Contact.objects.create(
            workspace=cls.workspace,
            email="ann@example.com",
            name="Ann",
            language="fi",
            properties={"plan": "pro", "account_owner": "bob@example.org"},
        )

    def setUp(self) -> None:
        super().setUp()
        # The themes matcher is cached per process by workspace and taxonomy version;
        # a test that creates themes would leave a matcher naming rolled-back rows.
        clear_matcher_cache()

    def membership(self, user: User) -> Membership:
        return Membership.objects.get(workspace=self.workspace, user=user)

    def loop_settings(self, survey: Survey | None = None, **values: Any) -> LoopSettings:
        survey = survey or self.survey
        settings, _ = LoopSettings.objects.update_or_create(
            survey=survey, defaults={"workspace": survey.workspace, **values}
        )
        return settings

    def answer(
        self,
        score: int,
        comment: str = "",
        contact: Contact | None = None,
        survey: Survey | None = None,
        created_at: datetime | None = None,
        channel: str = "api",
    ) -> Response:
        """Record an answer and run its job (inline), as a worker would after the commit."""
        with override_settings(TASKS=IMMEDIATE), self.captureOnCommitCallbacks(execute=True):
            recorded = record_response(
                survey=survey or self.survey,
                score=score,
                channel=channel,
                comment=comment,
                contact=contact,
                created_at=created_at,
            )
        return recorded.response

    def case_for(self, response: Response) -> Case:
        return Case.objects.get(response=response)

    def run_job_again(self, response: Response) -> None:
        with override_settings(TASKS=IMMEDIATE), self.captureOnCommitCallbacks(execute=True):
            process_response.call(response.pk)
