"""POST/GET /api/v1/surveys/{id}/invitations and POST /api/v1/invitations/{id}/cancel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from django.utils import timezone

from kaiku.contacts.models import Contact
from kaiku.surveys.models import Invitation, InvitationStatus, Survey
from tests.delivery_helpers import dispatch_and_deliver
from tests.smtp import SmtpTestMixin
from tests.test_api_base import ApiTestCase


class ApiInvitationsTestCase(SmtpTestMixin, ApiTestCase):
    def path(self, survey: Survey | None = None) -> str:
        return f"/surveys/{(survey or self.survey).pk}/invitations"

    def trigger(self, **body: Any) -> Any:
        headers = body.pop("headers", None)
        token = body.pop("token", None)
        payload = {"contact": {"email": "dana@example.org"}, **body}
        return self.api_post(self.path(), payload, token=token, headers=headers)


class CreateInvitationTests(ApiInvitationsTestCase):
    def test_it_schedules_an_invitation_after_a_delay(self) -> None:
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            response = self.trigger(
                contact={
                    "email": "Dana@Example.org",
                    "name": "Dana",
                    "external_id": "crm-7",
                    "language": "fi",
                    "properties": {"plan": "pro"},
                },
                delay_minutes=30,
                properties={"ticket": "T-1"},
            )
        assert response.status_code == 201, response.content
        body = response.json()
        invitation = Invitation.objects.get()
        assert body["id"] == invitation.pk
        assert body["status"] == "scheduled"
        assert body["status_reason"] == ""
        assert body["language"] == "fi"
        assert body["properties"] == {"ticket": "T-1"}
        assert body["contact"]["email"] == "dana@example.org"
        assert body["contact"]["properties"] == {"plan": "pro"}
        assert invitation.send_at == start + timedelta(minutes=30)
        with time_machine.travel(start + timedelta(minutes=29), tick=False):
            assert dispatch_and_deliver().sent == 0
        with time_machine.travel(start + timedelta(minutes=31), tick=False):
            assert dispatch_and_deliver().sent == 1
        [message] = self.smtp.wait_for(1)
        assert message["To"] == "dana@example.org"

    def test_without_a_delay_it_is_sent_once_the_request_commits(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            response = self.trigger()
        assert response.status_code == 201
        assert len(self.smtp.wait_for(1)) == 1
        assert Invitation.objects.get().status == InvitationStatus.SENT

    def test_a_retry_with_the_same_key_returns_the_first_invitation(self) -> None:
        first = self.trigger(idempotency_key="ticket-42")
        again = self.trigger(idempotency_key="ticket-42", delay_minutes=99)
        by_header = self.trigger(headers={"Idempotency-Key": "ticket-42"})
        assert first.status_code == 201
        assert again.status_code == 200
        assert by_header.status_code == 200
        assert first.json()["id"] == again.json()["id"] == by_header.json()["id"]
        assert Invitation.objects.count() == 1

    def test_a_key_reused_for_another_contact_conflicts(self) -> None:
        self.trigger(idempotency_key="k1")
        response = self.trigger(idempotency_key="k1", contact={"email": "eve@example.org"})
        self.assertApiError(response, 409, "conflict", "idempotency_key")

    def test_header_and_body_keys_must_agree(self) -> None:
        response = self.trigger(idempotency_key="a", headers={"Idempotency-Key": "b"})
        self.assertApiError(response, 422, "invalid", "idempotency_key")

    def test_a_throttled_contact_gets_a_skipped_invitation_with_the_reason(self) -> None:
        assert self.trigger().json()["status"] == "scheduled"
        response = self.trigger()
        assert response.status_code == 201
        assert response.json()["status"] == "skipped"
        assert response.json()["status_reason"] == "throttled"
        assert Invitation.objects.filter(status="skipped").count() == 1

    def test_throttling_spans_surveys_and_honours_the_surveys_window(self) -> None:
        other = Survey.objects.create(workspace=self.workspace, name="Onboarding")
        self.trigger()
        Invitation.objects.update(status="sent", sent_at=timezone.now())
        body = self.api_post(self.path(other), {"contact": {"email": "dana@example.org"}}).json()
        assert body["status_reason"] == "throttled"
        other.recontact_days = 0
        other.save()
        body = self.api_post(self.path(other), {"contact": {"email": "dana@example.org"}}).json()
        assert body["status"] == "scheduled"

    def test_an_unsubscribed_contact_is_skipped(self) -> None:
        Contact.objects.create(
            workspace=self.workspace, email="dana@example.org", unsubscribed_at=timezone.now()
        )
        body = self.trigger().json()
        assert (body["status"], body["status_reason"]) == ("skipped", "unsubscribed")

    def test_a_contact_known_only_by_external_id_has_no_email(self) -> None:
        body = self.trigger(contact={"external_id": "crm-9"}).json()
        assert (body["status"], body["status_reason"]) == ("skipped", "no_email")

    def test_bad_input_is_refused_with_the_field(self) -> None:
        self.assertApiError(self.trigger(contact={}), 422, "invalid", "contact")
        self.assertApiError(self.trigger(delay_minutes=-1), 422, "invalid", "delay_minutes")
        bad = self.trigger(contact={"email": "not-an-email"})
        self.assertApiError(bad, 422, "invalid", "contact.email")
        assert not Invitation.objects.exists()

    def test_an_inactive_survey_is_refused(self) -> None:
        Survey.objects.filter(pk=self.survey.pk).update(is_active=False)
        self.assertApiError(self.trigger(), 422, "invalid")

    def test_a_read_only_key_cannot_trigger(self) -> None:
        self.assertApiError(self.trigger(token=self.read_token), 403, "forbidden")

    def test_charlie_cannot_invite_to_acmes_survey(self) -> None:
        response = self.trigger(token=self.charlies_token)
        self.assertApiError(response, 404, "not_found")
        assert not Invitation.objects.exists()
        assert not Contact.objects.exists()


class ListInvitationTests(ApiInvitationsTestCase):
    def test_it_lists_newest_first_in_pages(self) -> None:
        for i in range(3):
            self.trigger(contact={"email": f"p{i}@example.org"})
        first = self.api_get(self.path(), limit=2).json()
        assert [row["contact"]["email"] for row in first["data"]] == [
            "p2@example.org",
            "p1@example.org",
        ]
        second = self.api_get(self.path(), limit=2, cursor=first["next_cursor"]).json()
        assert [row["contact"]["email"] for row in second["data"]] == ["p0@example.org"]
        assert second["next_cursor"] is None

    def test_it_filters_by_status(self) -> None:
        self.trigger()
        self.trigger()  # throttled → skipped
        body = self.api_get(self.path(), status="skipped").json()
        assert [row["status"] for row in body["data"]] == ["skipped"]
        self.assertApiError(self.api_get(self.path(), status="lost"), 422, "invalid", "status")

    def test_charlie_sees_nothing_of_acme(self) -> None:
        self.trigger()
        response = self.api_get(self.path(), token=self.charlies_token)
        self.assertApiError(response, 404, "not_found")


class CancelInvitationTests(ApiInvitationsTestCase):
    def test_a_scheduled_invitation_can_be_cancelled_once(self) -> None:
        invitation_id = self.trigger(delay_minutes=60).json()["id"]
        response = self.api_post(f"/invitations/{invitation_id}/cancel", {})
        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"
        again = self.api_post(f"/invitations/{invitation_id}/cancel", {})
        self.assertApiError(again, 409, "conflict")
        with time_machine.travel(timezone.now() + timedelta(hours=2)):
            assert dispatch_and_deliver().sent == 0

    def test_a_sent_invitation_cannot_be_cancelled(self) -> None:
        invitation_id = self.trigger().json()["id"]
        dispatch_and_deliver()
        response = self.api_post(f"/invitations/{invitation_id}/cancel", {})
        self.assertApiError(response, 409, "conflict")
        assert Invitation.objects.get().status == InvitationStatus.SENT

    def test_charlie_cannot_cancel_acmes_invitation(self) -> None:
        invitation_id = self.trigger(delay_minutes=60).json()["id"]
        response = self.api_post(
            f"/invitations/{invitation_id}/cancel", {}, token=self.charlies_token
        )
        self.assertApiError(response, 404, "not_found")
        assert Invitation.objects.get().status == InvitationStatus.SCHEDULED

    def test_a_read_only_key_cannot_cancel(self) -> None:
        invitation_id = self.trigger(delay_minutes=60).json()["id"]
        response = self.api_post(f"/invitations/{invitation_id}/cancel", {}, token=self.read_token)
        self.assertApiError(response, 403, "forbidden")
