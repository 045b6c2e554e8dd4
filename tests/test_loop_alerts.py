"""Alerts and customer emails through a real SMTP server and a real local HTTP server.

New-case alerts (email + Slack-style webhooks), assignment alerts, overdue
reminders then escalations, replies to the customer in their language, and the
promoter follow-up. Every attempt is recorded, failures included.
"""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.test import override_settings
from django.utils import timezone

from kaiku.accounts.models import Membership
from kaiku.loop import actions
from kaiku.loop.alerts import send_case_alerts, sweep_overdue
from kaiku.loop.models import (
    AlertDelivery,
    AlertPreference,
    AssignmentMode,
    Case,
    CaseReply,
    PromoterFollowUp,
)
from kaiku.loop.replies import prefill, retry_reply
from kaiku.loop.tasks import send_case_reply
from tests.smtp import SmtpTestMixin, html_part, text_part
from tests.test_loop_base import LoopTestCase
from tests.webhook_server import WebhookReceiver


def prefs(membership: Membership, **values: object) -> AlertPreference:
    pref, _ = AlertPreference.objects.update_or_create(membership=membership, defaults=values)
    return pref


@override_settings(WEBHOOKS_ALLOW_PRIVATE=True)  # the receivers listen on 127.0.0.1
class NewCaseAlertTest(SmtpTestMixin, LoopTestCase):
    def test_the_assignee_gets_an_email_and_both_webhooks_a_post(self) -> None:
        with WebhookReceiver() as bobs, WebhookReceiver(script=[500]) as team:
            team_url = team.url
            self.loop_settings(
                assignment=AssignmentMode.PROPERTY,
                assignee_property="account_owner",
                slack_webhook_url=team.url,
            )
            prefs(self.membership(self.bob), slack_webhook_url=bobs.url)
            comment = "<b>Broken</b> & <!channel> nobody answers"
            case = self.case_for(self.answer(2, comment, contact=self.ann))
            [email] = self.smtp.wait_for(1)
            team.wait_idle()
        assert email["To"] == "bob@example.org"
        assert email["Subject"] == f"New case #{case.pk}: 2 in Relationship NPS"
        assert "Ann" in text_part(email)
        assert comment in text_part(email)
        assert f"/w/acme/cases/{case.pk}/" in text_part(email)
        assert "&lt;b&gt;Broken&lt;/b&gt;" in html_part(email)  # escaped in HTML
        [post] = bobs.requests
        text = post.json()["text"]
        # Slack's control characters are escaped: no forged mention or markup.
        assert "&lt;b&gt;Broken&lt;/b&gt; &amp; &lt;!channel&gt;" in text
        assert f"/w/acme/cases/{case.pk}/" in text
        assert post.json()["blocks"][0]["text"]["type"] == "mrkdwn"
        assert len(team.requests) == 1
        attempts = {(a.channel, a.status, a.status_code) for a in AlertDelivery.objects.all()}
        assert attempts == {
            ("email", "sent", None),
            ("slack", "sent", 200),
            ("slack", "failed", 500),
        }
        failed = AlertDelivery.objects.get(status="failed")
        assert "500" in failed.error
        assert failed.target.startswith("127.0.0.1:")
        assert team_url not in failed.target  # the webhook URL is a credential

    def test_an_unassigned_case_alerts_the_owners_and_admins(self) -> None:
        self.answer(1, "Terrible")
        messages = self.smtp.wait_for(2)
        assert sorted(m["To"] for m in messages) == ["alice@example.org", "dana@example.org"]

    def test_members_choose_their_alerts_and_each_alert_goes_once(self) -> None:
        prefs(self.membership(self.alice), new_case_email=False)
        case = self.case_for(self.answer(1))
        [email] = self.smtp.wait_for(1)
        assert email["To"] == "dana@example.org"
        assert send_case_alerts(case.pk) == 0  # already claimed: a retried job sends nothing
        assert AlertDelivery.objects.filter(case=case).count() == 1

    def test_a_refused_webhook_address_is_recorded_as_failed(self) -> None:
        self.loop_settings(slack_webhook_url="http://10.0.0.7/hook")
        with override_settings(WEBHOOKS_ALLOW_PRIVATE=False):
            self.answer(0)
        failed = AlertDelivery.objects.get(channel="slack")
        assert failed.status == "failed"
        assert "private" in failed.error

    def test_a_member_is_told_when_a_case_is_given_to_them(self) -> None:
        case = self.case_for(self.answer(5))
        self.smtp.wait_for(2)
        self.smtp.clear()
        with self.captureOnCommitCallbacks(execute=True):
            actions.assign(case, self.bob, actor=self.alice)
        [email] = self.smtp.wait_for(1)
        assert email["To"] == "bob@example.org"
        assert email["Subject"] == f"Case #{case.pk} in Relationship NPS is now yours"


class OverdueTest(SmtpTestMixin, LoopTestCase):
    def test_one_reminder_at_the_due_time_then_one_escalation(self) -> None:
        with time_machine.travel("2026-03-02 09:00:00+00:00", tick=False):
            self.loop_settings(
                assignment=AssignmentMode.PROPERTY, assignee_property="account_owner"
            )
            case = self.case_for(self.answer(3, contact=self.ann))
        self.smtp.wait_for(1)
        self.smtp.clear()
        due = case.due_at
        assert due is not None
        with self.captureOnCommitCallbacks(execute=True):
            assert sweep_overdue(due - timedelta(minutes=1)) == (0, 0)
            assert sweep_overdue(due + timedelta(minutes=5)) == (1, 0)
            assert sweep_overdue(due + timedelta(minutes=10)) == (0, 0)  # once
        [reminder] = self.smtp.wait_for(1)
        assert reminder["To"] == "bob@example.org"
        assert reminder["Subject"] == f"Overdue: case #{case.pk}"
        self.smtp.clear()
        with self.captureOnCommitCallbacks(execute=True):
            assert sweep_overdue(due + timedelta(hours=23)) == (0, 0)
            assert sweep_overdue(due + timedelta(hours=24, minutes=1)) == (0, 1)
            assert sweep_overdue(due + timedelta(hours=30)) == (0, 0)
        escalations = self.smtp.wait_for(2)
        assert sorted(m["To"] for m in escalations) == ["alice@example.org", "dana@example.org"]
        assert "Bob" in text_part(escalations[0])
        kinds = list(case.events.values_list("kind", flat=True))
        assert kinds.count("reminded") == 1
        assert kinds.count("escalated") == 1
        assert AlertDelivery.objects.filter(kind="reminder").count() == 1
        assert AlertDelivery.objects.filter(kind="escalation").count() == 2

    def test_resolved_cases_are_not_chased_and_a_reopened_one_may_be_again(self) -> None:
        case = self.case_for(self.answer(3))
        self.smtp.wait_for(2)
        from kaiku.loop.categories import categories

        actions.resolve(case, categories(self.workspace).get(key="other"), actor=self.alice)
        later = timezone.now() + timedelta(days=5)
        assert sweep_overdue(later) == (0, 0)
        with time_machine.travel(later):
            actions.reopen(case, actor=self.alice)
        assert sweep_overdue(later + timedelta(hours=49)) == (1, 0)


class ReplyTest(SmtpTestMixin, LoopTestCase):
    def test_the_reply_goes_in_the_contacts_language_with_placeholders_filled(self) -> None:
        case = self.case_for(self.answer(3, "Liian hidasta", contact=self.ann))
        self.smtp.wait_for(2)
        self.smtp.clear()
        subject, body = prefill(case, "apology", self.bob)
        assert subject == "Palautteestasi yritykselle Acme"
        assert body.startswith("Hei Ann,")
        assert "arvosanan 3" in body
        assert "Bob\nAcme" in body
        with self.captureOnCommitCallbacks(execute=True):
            reply = actions.reply_to_customer(
                case, subject, body + "\n\nP.S. {name}, {agent} soittaa {unknown}", actor=self.bob
            )
        [email] = self.smtp.wait_for(1)
        assert email["To"] == "ann@example.com"
        assert email["Subject"] == "Palautteestasi yritykselle Acme"
        assert email["From"] == "Acme <kaiku@localhost>"
        assert email["Reply-To"] == "Bob <bob@example.org>"
        assert email["Content-Language"] == "fi"
        text = text_part(email).replace("\r\n", "\n")
        assert "Hei Ann," in text
        assert "P.S. Ann, Bob soittaa {unknown}" in text
        reply.refresh_from_db()
        assert (reply.status, reply.language, reply.attempts) == ("sent", "fi", 1)
        assert reply.body in text  # the stored message is what the customer read
        assert Case.objects.get(pk=case.pk).contacted_at is not None
        attempt = AlertDelivery.objects.get(kind="reply")
        assert attempt.status == "sent"
        assert attempt.target == "a…@example.com"  # the log outlives a GDPR erase

    def test_english_and_estonian_templates_follow_the_contact(self) -> None:
        self.ann.language = "et"
        self.ann.save()
        case = self.case_for(self.answer(4, contact=self.ann))
        assert prefill(case, "follow_up", self.dana)[0] == "Tegeleme teie murega"
        self.ann.language = "en"
        self.ann.name = ""
        self.ann.save()
        case.refresh_from_db()
        assert prefill(case, "resolved", self.dana)[1].startswith("Hello there,")

    def test_a_failed_send_is_recorded_and_can_be_sent_again(self) -> None:
        case = self.case_for(self.answer(3, contact=self.ann))
        self.smtp.wait_for(2)
        self.smtp.clear()
        with override_settings(EMAIL_PORT=1), self.captureOnCommitCallbacks(execute=True):
            reply = actions.reply_to_customer(case, "Hi", "Sorry {name}", actor=self.bob)
        reply.refresh_from_db()
        assert reply.status == "failed"
        assert reply.error
        assert Case.objects.get(pk=case.pk).contacted_at is None
        assert retry_reply(reply)
        assert not retry_reply(reply)
        send_case_reply.call(reply.pk)
        send_case_reply.call(reply.pk)  # claimed: nothing twice
        [email] = self.smtp.wait_for(1)
        assert text_part(email).strip() == "Sorry Ann"
        reply.refresh_from_db()
        assert (reply.status, reply.attempts) == ("sent", 2)
        assert list(
            AlertDelivery.objects.filter(kind="reply").values_list("status", flat=True)
        ) == ["sent", "failed"]

    def test_no_email_no_reply(self) -> None:
        from kaiku.loop.errors import CaseError

        case = self.case_for(self.answer(3))  # anonymous
        with self.assertRaises(CaseError):
            actions.reply_to_customer(case, "Hi", "Hello", actor=self.bob)
        assert not CaseReply.objects.exists()


class PromoterTest(SmtpTestMixin, LoopTestCase):
    def test_a_promoter_gets_the_review_request_once_in_their_language(self) -> None:
        self.loop_settings(
            promoter_action="review", promoter_url="https://reviews.example.com/acme"
        )
        response = self.answer(10, "Loistavaa", contact=self.ann)
        [email] = self.smtp.wait_for(1)
        assert email["To"] == "ann@example.com"
        assert email["Subject"] == "Kertoisitko kokemuksestasi yrityksestä Acme?"
        assert "https://reviews.example.com/acme" in text_part(email)
        assert 'href="https://reviews.example.com/acme"' in html_part(email)
        self.run_job_again(response)
        assert len(self.smtp.messages) == 1
        assert PromoterFollowUp.objects.get(response=response).sent_at is not None
        assert AlertDelivery.objects.get(kind="promoter").status == "sent"

    def test_no_promoter_email_for_passives_unsubscribed_or_when_off(self) -> None:
        self.answer(10, contact=self.ann)  # off by default
        self.loop_settings(promoter_action="referral", promoter_url="https://acme.example/ref")
        self.answer(8, contact=self.ann)
        self.ann.unsubscribed_at = timezone.now()
        self.ann.save()
        self.answer(9, contact=self.ann)
        assert self.smtp.messages == []
