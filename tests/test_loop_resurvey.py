"""Re-surveys N days after a case is resolved (throttling applies) and recovery."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine
from django.test import override_settings

from kaiku.loop import actions
from kaiku.loop.categories import categories
from kaiku.loop.models import Case
from kaiku.loop.resurvey import sweep_resurveys
from kaiku.responses.actions import record_response
from kaiku.surveys.models import Invitation, Survey
from tests.test_loop_base import IMMEDIATE, LoopTestCase

T0 = datetime.fromisoformat("2026-03-02 09:00:00+00:00")


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


class ResurveyTest(LoopTestCase):
    def setUp(self) -> None:
        super().setUp()
        # Re-survey after 10 days; the survey's recontact window is 7 days, so
        # the contact's own detractor answer does not throttle it.
        Survey.objects.filter(pk=self.survey.pk).update(recontact_days=7)
        self.survey.refresh_from_db()
        self.loop_settings(resurvey_days=10)
        self.category = categories(self.workspace).get(key="service")

    def open_and_resolve(self) -> Case:
        with time_machine.travel(at(0), tick=False):
            case = self.case_for(self.answer(3, "Slow", contact=self.ann))
        with time_machine.travel(at(1), tick=False):
            return actions.resolve(case, self.category, actor=self.bob)

    def sweep(self, days: float) -> int:
        with time_machine.travel(at(days), tick=False):
            return sweep_resurveys()

    def answer_invitation(self, invitation: Invitation, score: int, days: float) -> None:
        Invitation.objects.filter(pk=invitation.pk).update(status="sent", sent_at=at(days - 0.5))
        invitation.refresh_from_db()
        with (
            time_machine.travel(at(days), tick=False),
            override_settings(TASKS=IMMEDIATE),
            self.captureOnCommitCallbacks(execute=True),
        ):
            record_response(survey=self.survey, score=score, channel="email", invitation=invitation)

    def test_the_contact_is_invited_n_days_after_resolution_and_recovers(self) -> None:
        case = self.open_and_resolve()
        assert case.resurvey_at == at(11)
        assert self.sweep(10.9) == 0
        assert self.sweep(11.01) == 1
        assert self.sweep(11.02) == 0  # claimed: one invitation
        case.refresh_from_db()
        invitation = case.resurvey_invitation
        assert invitation is not None
        assert (invitation.contact, invitation.survey, invitation.status) == (
            self.ann,
            self.survey,
            "scheduled",
        )
        assert case.events.filter(kind="resurvey", to_value="scheduled").exists()
        self.answer_invitation(invitation, 9, days=12)
        case.refresh_from_db()
        assert (case.recovery_score, case.recovered) == (9, True)
        assert case.events.filter(kind="recovery", to_value="9").exists()
        self.login_as(self.bob)
        page = self.client.get(f"/w/acme/cases/{case.pk}/")
        self.assertContains(page, "Later answer: 9")
        self.assertContains(page, "recovered")

    def test_throttling_applies_to_the_re_survey(self) -> None:
        case = self.open_and_resolve()
        other = Survey.objects.create(workspace=self.workspace, name="Onboarding")
        Invitation.objects.create(
            workspace=self.workspace,
            survey=other,
            contact=self.ann,
            status="sent",
            sent_at=at(9),
        )
        assert self.sweep(11.01) == 1
        case.refresh_from_db()
        invitation = case.resurvey_invitation
        assert invitation is not None
        assert (invitation.status, invitation.status_reason) == ("skipped", "throttled")
        assert case.events.filter(kind="resurvey", to_value="throttled").exists()

    def test_a_later_detractor_answer_is_not_a_recovery(self) -> None:
        case = self.open_and_resolve()
        self.sweep(11.01)
        case.refresh_from_db()
        assert case.resurvey_invitation is not None
        self.answer_invitation(case.resurvey_invitation, 5, days=12)
        case.refresh_from_db()
        assert (case.recovery_score, case.recovered) == (5, False)

    def test_any_later_answer_counts_and_only_the_first(self) -> None:
        Survey.objects.filter(pk=self.survey.pk).update(recontact_days=None)
        case = self.open_and_resolve()
        with time_machine.travel(at(3), tick=False):
            self.answer(7, contact=self.ann)  # through the public link, say
        with time_machine.travel(at(4), tick=False):
            self.answer(2, contact=self.ann)
        case.refresh_from_db()
        assert (case.recovery_score, case.recovered) == (7, True)

    def test_without_re_survey_days_nobody_is_invited(self) -> None:
        self.loop_settings(resurvey_days=None)
        case = self.open_and_resolve()
        assert case.resurvey_at is None
        assert self.sweep(60) == 0
        assert not Invitation.objects.exists()

    def test_reopening_cancels_a_pending_re_survey(self) -> None:
        case = self.open_and_resolve()
        with time_machine.travel(at(2), tick=False):
            case = actions.reopen(case, actor=self.bob)
        assert case.resurvey_at is None
        assert self.sweep(12) == 0
