"""`/api/v1/unsubscribes`: list and unsubscribe by email; the contact.unsubscribed webhook."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.test import override_settings
from django.utils import timezone

from kaiku.contacts.models import Contact
from kaiku.surveys.models import Invitation, InvitationStatus
from kaiku.webhooks.actions import create_endpoint
from kaiku.webhooks.models import WebhookEvent
from tests.smtp import IMMEDIATE_TASKS
from tests.test_api_base import ApiTestCase


class UnsubscribesTest(ApiTestCase):
    def test_it_lists_unsubscribed_contacts_oldest_first(self) -> None:
        now = timezone.now()
        later = Contact.objects.create(
            workspace=self.workspace, email="b@example.org", unsubscribed_at=now
        )
        earlier = Contact.objects.create(
            workspace=self.workspace, email="a@example.org", unsubscribed_at=now - timedelta(days=3)
        )
        Contact.objects.create(workspace=self.workspace, email="still@example.org")
        Contact.objects.create(
            workspace=self.charlies_workspace, email="g@example.org", unsubscribed_at=now
        )
        body = self.api_get("/unsubscribes").json()
        self.assertEqual([u["contact"]["id"] for u in body["data"]], [earlier.pk, later.pk])
        self.assertEqual(body["data"][0]["contact"]["email"], "a@example.org")
        self.assertTrue(body["data"][0]["unsubscribed_at"].endswith("Z"))
        since = self.api_get("/unsubscribes", since=(now - timedelta(days=1)).isoformat())
        self.assertEqual([u["contact"]["id"] for u in since.json()["data"]], [later.pk])
        page = self.api_get("/unsubscribes", limit=1).json()
        rest = self.api_get("/unsubscribes", limit=1, cursor=page["next_cursor"]).json()
        self.assertEqual(rest["data"][0]["contact"]["id"], later.pk)

    def test_unsubscribing_by_email_skips_pending_invitations(self) -> None:
        dana = Contact.objects.create(workspace=self.workspace, email="dana@example.org")
        invitation = Invitation.objects.create(
            workspace=self.workspace, survey=self.survey, contact=dana
        )
        with time_machine.travel(timezone.now()):
            first = self.api_post("/unsubscribes", {"email": "DANA@example.org"})
        self.assertEqual(first.status_code, 201, first.content)
        self.assertEqual(first.json()["contact"]["id"], dana.pk)
        again = self.api_post("/unsubscribes", {"email": "dana@example.org"})
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json()["unsubscribed_at"], first.json()["unsubscribed_at"])
        invitation.refresh_from_db()
        self.assertEqual(invitation.status, InvitationStatus.SKIPPED)

    def test_an_unknown_email_becomes_an_unsubscribed_contact(self) -> None:
        response = self.api_post("/unsubscribes", {"email": "new@example.org"})
        self.assertEqual(response.status_code, 201)
        contact = Contact.objects.get(email="new@example.org")
        self.assertEqual(contact.workspace, self.workspace)
        self.assertIsNotNone(contact.unsubscribed_at)

    def test_it_validates_and_needs_a_write_key(self) -> None:
        self.assertApiError(self.api_post("/unsubscribes", {"email": "x"}), 422, "invalid", "email")
        self.assertApiError(self.api_post("/unsubscribes", {}), 422, "invalid", "email")
        self.assertApiError(
            self.api_post("/unsubscribes", {"email": "a@example.org"}, token=self.read_token),
            403,
            "forbidden",
        )

    def test_charlie_cannot_see_or_unsubscribe_acmes_contacts(self) -> None:
        dana = Contact.objects.create(
            workspace=self.workspace, email="dana@example.org", unsubscribed_at=timezone.now()
        )
        listed = self.api_get("/unsubscribes", token=self.charlies_token).json()
        self.assertEqual(listed["data"], [])
        eero = Contact.objects.create(workspace=self.workspace, email="eero@example.org")
        self.api_post("/unsubscribes", {"email": "eero@example.org"}, token=self.charlies_token)
        eero.refresh_from_db()
        self.assertIsNone(eero.unsubscribed_at)  # Globex got its own contact instead
        self.assertEqual(Contact.objects.filter(email="eero@example.org").count(), 2)
        self.assertIsNotNone(Contact.objects.get(pk=dana.pk).unsubscribed_at)

    @override_settings(TASKS=IMMEDIATE_TASKS, WEBHOOKS_ALLOW_PRIVATE=True)
    def test_it_emits_contact_unsubscribed_once(self) -> None:
        create_endpoint(self.workspace, url="http://127.0.0.1:9/", events=["contact.unsubscribed"])
        with self.captureOnCommitCallbacks(execute=False):
            self.api_post("/unsubscribes", {"email": "dana@example.org"})
            self.api_post("/unsubscribes", {"email": "dana@example.org"})
        [event] = WebhookEvent.objects.all()
        self.assertEqual(event.type, "contact.unsubscribed")
        self.assertEqual(event.payload["contact"]["email"], "dana@example.org")
        self.assertTrue(event.payload["unsubscribed_at"].endswith("Z"))
