"""Contact fatigue: the recontact window across surveys, skip reasons, send summaries."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kaiku.contacts.models import Contact
from kaiku.responses.models import Channel, Response
from kaiku.surveys.models import Invitation, InvitationStatus, Survey, Wave
from kaiku.surveys.sending import (
    SendSummary,
    SurveyInactive,
    preview_send,
    schedule_invitations,
    spread_times,
)
from kaiku.surveys.throttling import SKIP_REASONS, skip_reason
from tests.base import BaseTestCase
from tests.delivery_helpers import contacts_of, make_contacts


class ThrottlingTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.now = timezone.now()
        self.support = Survey.objects.create(workspace=self.workspace, name="Support CSAT")
        self.dana = Contact.objects.create(workspace=self.workspace, email="dana@example.org")

    def invite(self, contact: Contact, survey: Survey, days_ago: float) -> None:
        Invitation.objects.create(
            workspace=self.workspace,
            survey=survey,
            contact=contact,
            status=InvitationStatus.SENT,
            sent_at=self.now - timedelta(days=days_ago),
        )

    def answer(self, contact: Contact, survey: Survey, days_ago: float) -> None:
        Response.objects.create(
            workspace=self.workspace,
            survey=survey,
            contact=contact,
            score=9,
            scale_min=0,
            scale_max=10,
            channel=Channel.WIDGET,
            created_at=self.now - timedelta(days=days_ago),
        )


class SkipReasonTests(ThrottlingTestCase):
    def test_a_fresh_contact_may_be_invited(self) -> None:
        assert skip_reason(self.dana, self.survey, self.now) is None

    def test_no_email_unsubscribed_and_bounced_come_first(self) -> None:
        nobody = Contact.objects.create(workspace=self.workspace, external_id="u-1")
        assert skip_reason(nobody, self.survey, self.now) == "no_email"
        self.dana.unsubscribed_at = self.now
        assert skip_reason(self.dana, self.survey, self.now) == "unsubscribed"
        self.dana.unsubscribed_at = None
        self.dana.bounced_at = self.now
        assert skip_reason(self.dana, self.survey, self.now) == "bounced"

    def test_an_invitation_from_any_survey_throttles_for_the_workspaces_window(self) -> None:
        self.invite(self.dana, self.support, days_ago=29)
        assert skip_reason(self.dana, self.survey, self.now) == "throttled"
        with time_machine.travel(self.now + timedelta(days=1, minutes=1), tick=False):
            assert skip_reason(self.dana, self.survey) is None

    def test_the_workspace_window_can_be_changed(self) -> None:
        self.invite(self.dana, self.support, days_ago=10)
        self.workspace.recontact_days = 7
        self.workspace.save()
        survey = Survey.objects.get(pk=self.survey.pk)
        assert skip_reason(self.dana, survey, self.now) is None

    def test_a_survey_can_override_the_window(self) -> None:
        self.invite(self.dana, self.support, days_ago=3)
        self.survey.recontact_days = 2
        assert skip_reason(self.dana, self.survey, self.now) is None
        self.survey.recontact_days = 0
        assert skip_reason(self.dana, self.survey, self.now) is None
        self.survey.recontact_days = 90
        assert skip_reason(self.dana, self.survey, self.now) == "throttled"

    def test_a_pending_invitation_throttles_whenever_it_is_due(self) -> None:
        Invitation.objects.create(
            workspace=self.workspace,
            survey=self.support,
            contact=self.dana,
            send_at=self.now + timedelta(days=60),
        )
        self.survey.recontact_days = 0
        assert skip_reason(self.dana, self.survey, self.now) == "throttled"

    def test_failed_skipped_and_cancelled_invitations_do_not_throttle(self) -> None:
        for status in ("failed", "skipped", "cancelled"):
            Invitation.objects.create(
                workspace=self.workspace, survey=self.support, contact=self.dana, status=status
            )
        assert skip_reason(self.dana, self.survey, self.now) is None

    def test_an_answer_to_this_survey_is_already_answered_and_to_another_throttles(self) -> None:
        self.answer(self.dana, self.survey, days_ago=5)
        assert skip_reason(self.dana, self.survey, self.now) == "already_answered"
        assert skip_reason(self.dana, self.support, self.now) == "throttled"
        with time_machine.travel(self.now + timedelta(days=26), tick=False):
            assert skip_reason(self.dana, self.survey) is None

    def test_another_workspaces_history_does_not_count(self) -> None:
        globex = Survey.objects.create(workspace=self.charlies_workspace, name="G")
        twin = Contact.objects.create(workspace=self.charlies_workspace, email="dana@example.org")
        Invitation.objects.create(
            workspace=self.charlies_workspace, survey=globex, contact=twin, sent_at=self.now
        )
        assert skip_reason(self.dana, self.survey, self.now) is None

    def test_a_contact_from_another_workspace_is_refused(self) -> None:
        twin = Contact.objects.create(workspace=self.charlies_workspace, email="x@example.org")
        with self.assertRaises(ValueError):
            skip_reason(twin, self.survey, self.now)


class SendSummaryTests(ThrottlingTestCase):
    def audience(self) -> None:
        make_contacts(self.workspace, 5, "fresh")
        Contact.objects.create(workspace=self.workspace, external_id="no-mail")
        Contact.objects.create(
            workspace=self.workspace, email="gone@example.org", unsubscribed_at=self.now
        )
        Contact.objects.create(
            workspace=self.workspace, email="bounce@example.org", bounced_at=self.now
        )
        answered = Contact.objects.create(workspace=self.workspace, email="ans@example.org")
        self.answer(answered, self.survey, days_ago=1)
        self.invite(self.dana, self.support, days_ago=2)
        Contact.objects.create(workspace=self.charlies_workspace, email="globex@example.org")

    def test_a_preview_counts_every_reason_and_writes_nothing(self) -> None:
        self.audience()
        with self.assertNumQueries(2):
            summary = preview_send(self.survey, contacts_of(self.workspace), now=self.now)
        assert summary == SendSummary(
            eligible=5,
            scheduled=0,
            skipped={
                "no_email": 1,
                "unsubscribed": 1,
                "bounced": 1,
                "already_answered": 1,
                "throttled": 1,
            },
        )
        assert Invitation.objects.count() == 1

    def test_every_reason_is_in_the_summary_even_when_zero(self) -> None:
        summary = preview_send(self.survey, Contact.objects.none())
        assert set(summary.skipped) == set(SKIP_REASONS)
        assert summary.skipped_total == 0

    def test_schedule_creates_one_invitation_per_eligible_contact(self) -> None:
        self.audience()
        summary = schedule_invitations(self.survey, Contact.objects.all())
        assert (summary.eligible, summary.scheduled, summary.skipped_total) == (5, 5, 5)
        assert Invitation.objects.filter(survey=self.survey).count() == 5
        assert not Invitation.objects.filter(survey=self.survey, status="skipped").exists()
        again = schedule_invitations(self.survey, Contact.objects.all())
        assert again.scheduled == 0
        assert again.skipped["throttled"] == 6, "scheduled invitations throttle a second send"

    def test_a_big_send_takes_a_fixed_number_of_queries(self) -> None:
        make_contacts(self.workspace, 300)
        with CaptureQueriesContext(connection) as queries:
            summary = schedule_invitations(self.survey, contacts_of(self.workspace))
        assert summary.scheduled == 301
        # Savepoint, workspace lock, summary, eligible ids, release; the inserts
        # are batched (SQLite caps the parameters per statement, hence several).
        others = [q["sql"][:30] for q in queries if not q["sql"].startswith("INSERT")]
        assert len(others) == 5, others
        assert len(queries) - len(others) <= 10

    def test_send_times_are_spread_evenly(self) -> None:
        make_contacts(self.workspace, 3)
        start = self.now + timedelta(hours=1)
        schedule_invitations(
            self.survey,
            contacts_of(self.workspace),
            send_at=start,
            spread_until=start + timedelta(hours=4),
        )
        times = sorted(Invitation.objects.values_list("send_at", flat=True))
        assert times == [start + timedelta(hours=h) for h in range(4)]

    def test_spread_times(self) -> None:
        assert spread_times(self.now, None, 2) == [self.now, self.now]
        assert spread_times(self.now, self.now - timedelta(hours=1), 2) == [self.now] * 2
        assert spread_times(self.now, self.now + timedelta(hours=2), 2) == [
            self.now,
            self.now + timedelta(hours=1),
        ]

    def test_a_limit_caps_the_invitations_and_a_wave_is_noted(self) -> None:
        make_contacts(self.workspace, 5)
        wave = Wave.objects.create(
            workspace=self.workspace, survey=self.survey, name="Quarterly", daily_cap=2
        )
        summary = schedule_invitations(
            self.survey, contacts_of(self.workspace), wave=wave, limit=wave.daily_cap
        )
        assert (summary.eligible, summary.scheduled) == (6, 2)
        assert Invitation.objects.filter(wave=wave).count() == 2

    def test_the_invitation_speaks_the_contacts_language(self) -> None:
        Contact.objects.create(workspace=self.workspace, email="fi@example.org", language="fi")
        self.workspace.languages = ["en", "et"]
        self.workspace.save()
        Contact.objects.create(workspace=self.workspace, email="et@example.org", language="et")
        survey = Survey.objects.get(pk=self.survey.pk)
        schedule_invitations(survey, contacts_of(self.workspace))
        languages = dict(Invitation.objects.values_list("contact__email", "language"))
        assert languages == {
            "fi@example.org": "en",
            "et@example.org": "et",
            "dana@example.org": "en",
        }

    def test_an_inactive_survey_cannot_be_sent(self) -> None:
        self.survey.is_active = False
        with self.assertRaises(SurveyInactive):
            schedule_invitations(self.survey, contacts_of(self.workspace))

    def test_other_workspaces_contacts_are_never_invited(self) -> None:
        Contact.objects.create(workspace=self.charlies_workspace, email="globex@example.org")
        summary = schedule_invitations(self.survey, Contact.objects.all())
        assert summary.scheduled == 1
        assert not Invitation.objects.filter(contact__workspace=self.charlies_workspace).exists()


class AudienceShapeTests(ThrottlingTestCase):
    def test_a_joined_distinct_or_sliced_audience_is_counted_once_per_contact(self) -> None:
        make_contacts(self.workspace, 3)
        for contact in Contact.objects.all():
            self.invite(contact, self.support, days_ago=60)
            self.invite(contact, self.support, days_ago=90)
        joined = Contact.objects.filter(invitations__survey=self.support)  # two rows each
        assert preview_send(self.survey, joined).eligible == 4
        assert preview_send(self.survey, joined.distinct()).eligible == 4
        sliced = Contact.objects.order_by("pk")[:2]
        summary = schedule_invitations(self.survey, sliced)
        assert summary.scheduled == 2
