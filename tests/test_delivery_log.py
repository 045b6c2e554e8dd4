"""The delivery log of a survey: status, reason, times, attempts; filter; pages; isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.urls import reverse

from kaiku.contacts.models import Contact
from kaiku.surveys.models import DeliveryAttempt, Invitation, InvitationStatus, Survey, Wave
from tests.base import BaseTestCase

AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class DeliveryLogTest(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        wave = Wave.objects.create(workspace=cls.workspace, survey=cls.survey, name="Quarterly")
        rows = [
            ("sent@example.org", InvitationStatus.SENT, "", 1, wave),
            (
                "failed@example.org",
                InvitationStatus.FAILED,
                "SMTP 550 <mailbox unavailable>",
                3,
                None,
            ),
            ("skipped@example.org", InvitationStatus.SKIPPED, "unsubscribed", 0, None),
            ("answered@example.org", InvitationStatus.RESPONDED, "", 1, None),
        ]
        for index, (email, status, reason, attempts, from_wave) in enumerate(rows):
            contact = Contact.objects.create(workspace=cls.workspace, email=email)
            Invitation.objects.create(
                workspace=cls.workspace,
                survey=cls.survey,
                contact=contact,
                status=status,
                status_reason=reason,
                attempts=attempts,
                wave=from_wave,
                send_at=AT,
                sent_at=AT + timedelta(minutes=1) if attempts else None,
                responded_at=AT + timedelta(hours=2) if status == "responded" else None,
                created_at=AT + timedelta(seconds=index),
            )
        # Another survey's and another workspace's invitations never show up here.
        other = Survey.objects.create(workspace=cls.workspace, name="Other")
        Invitation.objects.create(
            workspace=cls.workspace,
            survey=other,
            contact=Contact.objects.create(workspace=cls.workspace, email="other@example.org"),
        )

    def url(self, query: str = "") -> str:
        url = reverse("surveys:log", args=["acme", self.survey.pk])
        return f"{url}?{query}" if query else url

    def test_it_shows_status_reason_times_and_attempts(self) -> None:
        self.login_as(self.bob)  # agents may read the log
        page = self.client.get(self.url())
        text = page.content.decode()
        self.assertContains(page, "4 invitations")
        self.assertNotIn("other@example.org", text)
        self.assertIn("SMTP 550 &lt;mailbox unavailable&gt;", text)  # escaped, verbatim
        self.assertIn('<span class="status status-failed">Failed</span>', text)
        self.assertIn("Quarterly", text)  # the wave
        # Times in the workspace's zone: 08:01 UTC is 10:01 in Helsinki.
        self.assertIn("10:01", text)
        self.assertIn('data-label="Attempts">3</td>', text)
        contact = Contact.objects.get(email="failed@example.org")
        self.assertContains(page, reverse("contacts:detail", args=["acme", contact.pk]))

    def test_each_smtp_attempt_is_listed(self) -> None:
        invitation = Invitation.objects.get(contact__email="failed@example.org")
        for code, outcome, error in ((421, "retry", "Try later"), (550, "failed", "No such user")):
            DeliveryAttempt.objects.create(
                invitation=invitation,
                kind="invitation",
                outcome=outcome,
                smtp_code=code,
                error=error,
                duration_ms=120,
            )
        self.login_as(self.alice)
        text = " ".join(self.client.get(self.url()).content.decode().split())
        self.assertIn("Invitation · Will retry · 421 · Try later · 120 ms", text)
        self.assertIn("Invitation · Failed · 550 · No such user · 120 ms", text)

    def test_filter_by_status(self) -> None:
        self.login_as(self.alice)
        page = self.client.get(self.url("status=skipped"))
        self.assertContains(page, "1 invitation")
        self.assertContains(page, "skipped@example.org")
        self.assertNotContains(page, "failed@example.org")
        self.assertEqual(self.client.get(self.url("status=bogus")).status_code, 404)

    def test_it_is_paginated_with_a_fixed_number_of_queries(self) -> None:
        contact = Contact.objects.get(email="sent@example.org")
        Invitation.objects.bulk_create(
            Invitation(workspace=self.workspace, survey=self.survey, contact=contact, created_at=AT)
            for _ in range(56)
        )
        self.login_as(self.alice)
        first = self.client.get(self.url())
        self.assertContains(first, "60 invitations")
        self.assertContains(first, "Page 1 of 2")
        # session, user, membership, survey, count, one page with contacts and waves, attempts
        with self.assertNumQueries(7):
            second = self.client.get(self.url("page=2"))
        self.assertEqual(len(second.context["page"].object_list), 10)
        with_status = self.client.get(self.url("status=scheduled&page=2"))
        self.assertContains(with_status, "status=scheduled&amp;page=1")

    def test_charlie_gets_404(self) -> None:
        self.assertRefusedToOutsider(self.url())
        self.client.force_login(self.charlie)
        response = self.client.get(reverse("surveys:log", args=["globex", self.survey.pk]))
        self.assertEqual(response.status_code, 404)
