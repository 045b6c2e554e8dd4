"""Unsubscribing: the page (GET asks, POST acts), RFC 8058 one-click, effect on every survey."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.test import Client, override_settings
from django.utils import timezone

from kaiku.contacts.models import Contact
from kaiku.surveys.models import Invitation, InvitationStatus, Survey
from kaiku.surveys.sending import unsubscribe_contact
from tests.base import BaseTestCase
from tests.delivery_helpers import dispatch_and_deliver, make_contacts, schedule, token_of
from tests.smtp import SmtpTestMixin, html_part, text_part
from tests.test_api_base import LOCMEM_CACHE

SITE = "http://testserver"


@override_settings(SITE_URL=SITE, CACHES=LOCMEM_CACHE)
class UnsubscribeTests(SmtpTestMixin, BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        [self.dana] = make_contacts(self.workspace, 1, "dana")
        schedule(self.survey)
        dispatch_and_deliver()
        [self.message] = self.smtp.wait_for(1)
        self.smtp.clear()
        self.token = token_of(self.message)
        self.url = f"/u/{self.token}/"
        self.other = Survey.objects.create(
            workspace=self.workspace, name="Support CSAT", kind="csat", recontact_days=0
        )

    def assertNeverEmailedAgain(self) -> None:
        summary = schedule(self.other)
        assert summary.skipped["unsubscribed"] == 1
        assert summary.scheduled == 0
        dispatch_and_deliver()
        assert not self.smtp.messages

    def test_the_email_carries_rfc_8058_headers_and_a_link(self) -> None:
        header = self.message["List-Unsubscribe"]
        assert f"<mailto:unsubscribe+{self.token}@localhost?subject=unsubscribe>" in header
        assert f"<{SITE}/u/{self.token}/>" in header
        assert self.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert f"{SITE}{self.url}" in text_part(self.message)
        assert f'href="{SITE}{self.url}"' in html_part(self.message)

    def test_a_get_only_asks_and_a_post_unsubscribes(self) -> None:
        page = self.client.get(self.url)
        assert page.status_code == 200
        assert b"Unsubscribe from survey emails?" in page.content
        assert b'<form method="post"' in page.content
        assert b"Acme" in page.content
        assert page["Cache-Control"] == "private, no-store"
        self.dana.refresh_from_db()
        assert self.dana.unsubscribed_at is None, "link scanners must not unsubscribe anyone"
        done = self.client.post(self.url)
        assert done.status_code == 200
        assert b"You have unsubscribed" in done.content
        self.dana.refresh_from_db()
        assert self.dana.unsubscribed_at is not None
        self.assertNeverEmailedAgain()

    def test_unsubscribing_twice_keeps_the_first_time(self) -> None:
        self.client.post(self.url)
        first = Contact.objects.get(pk=self.dana.pk).unsubscribed_at
        again = self.client.post(self.url)
        assert again.status_code == 200
        assert Contact.objects.get(pk=self.dana.pk).unsubscribed_at == first
        assert b"You have unsubscribed" in self.client.get(self.url).content

    def test_the_one_click_post_needs_no_csrf_token_or_cookie(self) -> None:
        provider = Client(enforce_csrf_checks=True)
        response = provider.post(
            self.url,
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
        assert not response.cookies
        assert Contact.objects.get(pk=self.dana.pk).unsubscribed_at is not None
        self.assertNeverEmailedAgain()

    def test_the_page_speaks_the_invitations_language(self) -> None:
        Invitation.objects.filter(token=self.token).update(language="fi")
        page = self.client.get(self.url)
        assert page["Content-Language"] == "fi"
        assert b'<html lang="fi">' in page.content

    def test_an_unknown_token_is_a_plain_404(self) -> None:
        for method in ("get", "post"):
            response = getattr(self.client, method)("/u/not-a-token/")
            assert response.status_code == 404
            assert b"Acme" not in response.content

    def test_pending_invitations_of_other_surveys_are_skipped(self) -> None:
        Contact.objects.create(workspace=self.workspace, email="other@example.org")
        pending = Invitation.objects.create(
            workspace=self.workspace, survey=self.other, contact=self.dana
        )
        self.client.post(self.url)
        pending.refresh_from_db()
        assert (pending.status, pending.status_reason) == ("skipped", "unsubscribed")
        dispatch_and_deliver()
        assert [m["To"] for m in self.smtp.messages] == []

    def test_the_answer_link_stops_working_once_unsubscribed(self) -> None:
        unsubscribe_contact(self.dana)
        assert self.client.get(f"/r/{self.token}/").status_code == 410

    def test_other_methods_are_refused(self) -> None:
        response = self.client.put(self.url)
        assert response.status_code == 405
        assert Contact.objects.get(pk=self.dana.pk).unsubscribed_at is None

    def test_a_reminder_is_not_sent_after_unsubscribing(self) -> None:
        self.client.post(self.url)
        with time_machine.travel(timezone.now() + timedelta(days=4)):
            dispatch_and_deliver()
        assert not self.smtp.messages
        assert Invitation.objects.get(token=self.token).status == InvitationStatus.SENT
