"""The send dialog: filter → counts with skip reasons → confirm (now, at a time, spread)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from kaiku.contacts.filters import parse_filter
from kaiku.contacts.models import Contact
from kaiku.surveys.actions import AlreadySent, send_survey
from kaiku.surveys.models import Invitation, InvitationStatus, Survey
from tests.base import BaseTestCase

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, 10:00 in Helsinki


@time_machine.travel(NOW, tick=False)
class SendCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        make = Contact.objects.create
        ws = cls.workspace
        for i in range(5):
            make(workspace=ws, email=f"pro{i}@example.org", properties={"plan": "pro"})
        make(workspace=ws, email="free@example.org", properties={"plan": "free"})
        make(
            workspace=ws, email="gone@example.org", properties={"plan": "pro"}, unsubscribed_at=NOW
        )
        make(workspace=ws, email="bounce@example.org", properties={"plan": "pro"}, bounced_at=NOW)
        make(workspace=ws, external_id="no-mail", properties={"plan": "pro"})
        recent = make(workspace=ws, email="recent@example.org", properties={"plan": "pro"})
        other = Survey.objects.create(workspace=ws, name="Support CSAT", kind="csat")
        Invitation.objects.create(
            workspace=ws,
            survey=other,
            contact=recent,
            status=InvitationStatus.SENT,
            sent_at=NOW - timedelta(days=3),
        )

    def setUp(self) -> None:
        cache.clear()

    def send_url(self, query: str = "") -> str:
        url = reverse("surveys:send", args=["acme", self.survey.pk])
        return f"{url}?{query}" if query else url

    def confirm(self, query: str, **fields: str) -> _MonkeyPatchedWSGIResponse:
        page = self.client.get(self.send_url(query))
        token = re.search(r'name="form_token" value="([^"]+)"', page.content.decode())
        assert token is not None
        data = {
            "when": "now",
            "form_token": token.group(1),
            "filter": page.context["form"]["filter"].value(),
        }
        data.update(fields)
        return self.client.post(self.send_url(), data)


class PreviewTest(SendCase):
    def test_the_dialog_says_how_many_will_be_sent_and_why_others_are_skipped(self) -> None:
        self.login_as(self.alice)
        page = self.client.get(self.send_url("prop=plan&op=eq&val=pro"))
        summary = page.context["summary"]
        self.assertEqual(summary.eligible, 5)
        self.assertEqual(summary.skipped_total, 4)
        text = " ".join(page.content.decode().split())
        self.assertIn(
            '5 will be sent</strong>, <span class="skipped">4 skipped (no email address: 1, '
            "unsubscribed: 1, email bounced: 1, surveyed recently: 1)",
            text,
        )
        self.assertIn("plan is pro", text)
        self.assertEqual(Invitation.objects.filter(survey=self.survey).count(), 0)

    def test_preview_counts_match_what_gets_scheduled(self) -> None:
        self.login_as(self.alice)
        query = "prop=plan&op=eq&val=pro"
        preview = self.client.get(self.send_url(query)).context["summary"]
        response = self.confirm(query)
        log_url = reverse("surveys:log", args=["acme", self.survey.pk])
        self.assertRedirects(response, log_url, fetch_redirect_response=False)
        scheduled = Invitation.objects.filter(survey=self.survey)
        self.assertEqual(scheduled.count(), preview.eligible)
        self.assertEqual(
            {i.contact.email for i in scheduled}, {f"pro{i}@example.org" for i in range(5)}
        )
        self.assertTrue(all(i.send_at == NOW for i in scheduled))
        log = self.client.get(log_url)
        self.assertContains(log, "5 invitations scheduled, 4 contacts skipped.")

    def test_a_bad_filter_is_a_clear_error_and_offers_no_send_button(self) -> None:
        self.login_as(self.alice)
        page = self.client.get(self.send_url("prop=seats&op=gt&val=&last_surveyed_before=soon"))
        self.assertEqual(page.status_code, 400)
        self.assertContains(page, "needs a value", status_code=400)
        self.assertContains(page, "takes a number of days", status_code=400)
        self.assertNotContains(page, 'name="form_token"', status_code=400)

    def test_the_contacts_list_hands_its_filter_to_the_dialog(self) -> None:
        self.login_as(self.alice)
        url = reverse("surveys:send_choose", args=["acme"])
        response = self.client.get(
            url, {"survey": str(self.survey.pk), "filter": "prop=plan&op=eq&val=free"}
        )
        self.assertRedirects(response, self.send_url("prop=plan&op=eq&val=free"))
        theirs = Survey.objects.create(workspace=self.charlies_workspace, name="Theirs")
        self.assertEqual(self.client.get(url, {"survey": theirs.pk}).status_code, 404)


class ConfirmTest(SendCase):
    def test_a_double_submit_sends_once(self) -> None:
        self.login_as(self.alice)
        page = self.client.get(self.send_url())
        token = page.context["form"]["form_token"].value()
        data = {"when": "now", "form_token": token, "filter": ""}
        first = self.client.post(self.send_url(), data)
        second = self.client.post(self.send_url(), data)
        self.assertEqual(first.status_code, 302)
        self.assertEqual(second.status_code, 302)
        self.assertEqual(Invitation.objects.filter(survey=self.survey).count(), 6)
        log = self.client.get(second["Location"])
        self.assertContains(log, "This send was already made; nothing was sent again.")

    def test_the_action_refuses_a_used_token(self) -> None:
        membership = self.alice.memberships.get()
        send_survey(membership, self.survey, parse_filter({}), form_token="t" * 20)
        with self.assertRaises(AlreadySent):
            send_survey(membership, self.survey, parse_filter({}), form_token="t" * 20)

    def test_at_a_time_in_the_workspace_time_zone(self) -> None:
        self.login_as(self.alice)
        response = self.confirm("prop=plan&op=eq&val=free", when="at", send_at="2026-03-03T09:30")
        self.assertEqual(response.status_code, 302)
        invitation = Invitation.objects.get(survey=self.survey)
        # 09:30 in Helsinki (UTC+2 in March) is 07:30 UTC.
        self.assertEqual(invitation.send_at, datetime(2026, 3, 3, 7, 30, tzinfo=UTC))

    def test_spread_over_a_window_distributes_send_times_evenly(self) -> None:
        self.login_as(self.alice)
        response = self.confirm(
            "prop=plan&op=eq&val=pro",
            when="spread",
            send_at="2026-03-02T12:00",
            spread_until="2026-03-02T17:00",
        )
        self.assertEqual(response.status_code, 302)
        times = sorted(
            Invitation.objects.filter(survey=self.survey).values_list("send_at", flat=True)
        )
        start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
        self.assertEqual(times, [start + timedelta(hours=1) * i for i in range(5)])

    def test_bad_times_are_refused_and_nothing_is_sent(self) -> None:
        self.login_as(self.alice)
        cases = [
            {"when": "at", "send_at": ""},
            {"when": "at", "send_at": "2026-03-01T09:00"},  # the past
            {"when": "at", "send_at": "tomorrow"},
            {"when": "spread", "send_at": "2026-03-02T12:00", "spread_until": "2026-03-02T11:00"},
            {"when": "spread", "spread_until": "2026-06-01T11:00"},  # over 31 days
        ]
        for fields in cases:
            with self.subTest(fields=fields):
                response = self.confirm("", **fields)
                self.assertEqual(response.status_code, 400)
        self.assertFalse(Invitation.objects.filter(survey=self.survey).exists())

    def test_an_inactive_survey_says_so(self) -> None:
        Survey.objects.filter(pk=self.survey.pk).update(is_active=False)
        self.login_as(self.alice)
        response = self.confirm("")
        self.assertContains(response, "The survey is inactive", status_code=400)
        self.assertFalse(Invitation.objects.filter(survey=self.survey).exists())


class SendRolesTest(SendCase):
    def test_an_agent_cannot_open_or_post_the_dialog(self) -> None:
        self.login_as(self.bob)
        self.assertEqual(self.client.get(self.send_url()).status_code, 403)
        response = self.client.post(self.send_url(), {"when": "now", "form_token": "x" * 20})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(
            self.client.get(
                reverse("surveys:send_choose", args=["acme"]), {"survey": self.survey.pk}
            ).status_code,
            403,
        )
        self.assertFalse(Invitation.objects.filter(survey=self.survey).exists())

    def test_charlie_cannot_send_acme_surveys(self) -> None:
        self.assertRefusedToOutsider(self.send_url())
        self.client.force_login(self.charlie)
        url = reverse("surveys:send", args=["globex", self.survey.pk])
        response = self.client.post(url, {"when": "now", "form_token": "y" * 20, "filter": ""})
        self.assertEqual(response.status_code, 404)
        self.assertFalse(Invitation.objects.filter(survey=self.survey).exists())

    def test_a_demoted_manager_is_refused_by_the_action(self) -> None:
        membership = self.alice.memberships.get()
        type(membership).objects.filter(pk=membership.pk).update(role="agent")
        from django.core.exceptions import PermissionDenied

        with self.assertRaises(PermissionDenied):
            send_survey(membership, self.survey, parse_filter({}), form_token="z" * 20)


def test_now_is_a_monday() -> None:
    assert NOW.astimezone(timezone.get_fixed_timezone(120)).weekday() == 0
