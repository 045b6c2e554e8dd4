"""Events in: `POST /api/v1/events`, event rules and their conditions, the rules page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.test import SimpleTestCase
from django.utils import timezone

from kaiku.contacts.models import Contact
from kaiku.surveys.models import Invitation, InvitationStatus, Survey
from kaiku.webhooks import rules
from kaiku.webhooks.models import EventRule, InboundEvent
from tests.test_api_base import ApiTestCase


class ConditionsTest(SimpleTestCase):
    def test_operators(self) -> None:
        props = {"plan": "Pro", "seats": 5, "vip": True, "empty": "", "none": None}
        cases: list[tuple[dict[str, Any], bool]] = [
            ({"property": "plan", "op": "eq", "value": "pro"}, True),
            ({"property": "seats", "op": "eq", "value": "5"}, True),
            ({"property": "seats", "op": "eq", "value": 5}, True),
            ({"property": "vip", "op": "eq", "value": "true"}, True),
            ({"property": "plan", "op": "neq", "value": "free"}, True),
            ({"property": "missing", "op": "neq", "value": "x"}, True),
            ({"property": "plan", "op": "neq", "value": "PRO"}, False),
            ({"property": "plan", "op": "in", "value": ["free", "pro"]}, True),
            ({"property": "plan", "op": "in", "value": ["free"]}, False),
            ({"property": "missing", "op": "in", "value": ["free"]}, False),
            ({"property": "plan", "op": "exists"}, True),
            ({"property": "empty", "op": "exists"}, False),
            ({"property": "none", "op": "exists"}, False),
            ({"property": "missing", "op": "exists"}, False),
            ({"property": "missing", "op": "eq", "value": ""}, False),
        ]
        for condition, expected in cases:
            with self.subTest(condition=condition):
                self.assertEqual(rules.holds(condition, props), expected)
        self.assertTrue(rules.matches([], props))

    def test_the_text_form_round_trips(self) -> None:
        text = "plan eq pro\npriority in high, urgent\nvip exists\nchannel neq chat"
        parsed = rules.parse_text(text)
        self.assertEqual(
            parsed[1], {"property": "priority", "op": "in", "value": ["high", "urgent"]}
        )
        self.assertEqual(rules.to_text(parsed), text)

    def test_bad_conditions_are_refused(self) -> None:
        for text in [
            "plan",
            "plan is pro",
            "plan in",
            "x" * 65 + " eq 1",
            "\n".join(["a exists"] * 11),
        ]:
            with self.subTest(text=text), self.assertRaises(ValidationError):
                rules.parse_text(text)
        for value in [{"property": "a"}, [{"property": "a", "op": "gt", "value": 1}], [1]]:
            with self.subTest(value=value), self.assertRaises(ValidationError):
                rules.check_conditions(value)


class EventsApiTest(ApiTestCase):
    csat: Survey
    rule: EventRule

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.csat = Survey.objects.create(workspace=cls.workspace, name="Support CSAT", kind="csat")
        cls.rule = EventRule.objects.create(
            workspace=cls.workspace,
            event_type="ticket.solved",
            survey=cls.csat,
            delay_minutes=60,
            conditions=[{"property": "channel", "op": "in", "value": ["email", "chat"]}],
        )

    def send(self, body: dict[str, Any], token: str | None = None, **headers: str) -> Any:
        return self.api_post("/events", body, token=token, headers=headers)

    def event(self, **extra: Any) -> dict[str, Any]:
        return {
            "type": "ticket.solved",
            "contact": {"email": "dana@example.org", "name": "Dana"},
            "properties": {"channel": "chat", "ticket_id": "4711"},
            **extra,
        }

    def test_a_matching_rule_schedules_an_invitation_after_the_delay(self) -> None:
        before = timezone.now()
        response = self.send(self.event())
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        [outcome] = body["matched"]
        invitation = Invitation.objects.get()
        self.assertEqual(outcome["invitation"], invitation.pk)
        self.assertEqual((outcome["rule"], outcome["survey"]), (self.rule.pk, self.csat.pk))
        self.assertEqual((outcome["status"], outcome["reason"]), ("scheduled", ""))
        self.assertEqual(body["message"], "1 rule matched.")
        self.assertEqual(invitation.status, InvitationStatus.SCHEDULED)
        self.assertGreaterEqual(invitation.send_at, before + timedelta(minutes=60))
        self.assertEqual(invitation.properties["ticket_id"], "4711")
        self.assertEqual(invitation.contact.name, "Dana")

    def test_no_rule_matched(self) -> None:
        other_type = self.send(self.event(type="order.delivered")).json()
        self.assertEqual((other_type["matched"], other_type["message"]), ([], "No rule matched."))
        phone = self.send(self.event(properties={"channel": "phone"})).json()
        self.assertEqual(phone["matched"], [])
        EventRule.objects.filter(pk=self.rule.pk).update(is_active=False)
        off = self.send(self.event()).json()
        self.assertEqual(off["matched"], [])
        self.assertFalse(Invitation.objects.exists())
        self.assertEqual(InboundEvent.objects.count(), 3)

    def test_conditions_see_the_contacts_properties_under_the_events(self) -> None:
        Contact.objects.create(
            workspace=self.workspace, email="dana@example.org", properties={"channel": "email"}
        )
        body = self.send(self.event(properties={})).json()
        self.assertEqual(len(body["matched"]), 1)

    def test_throttling_skips_a_recently_invited_contact(self) -> None:
        first = self.send(self.event(idempotency_key="zd-1")).json()
        second = self.send(self.event(idempotency_key="zd-2")).json()
        self.assertEqual(first["matched"][0]["status"], "scheduled")
        skipped = second["matched"][0]
        self.assertEqual((skipped["status"], skipped["reason"]), ("skipped", "throttled"))
        self.assertIsNotNone(skipped["invitation"])

    def test_an_unsubscribed_contact_is_skipped(self) -> None:
        Contact.objects.create(
            workspace=self.workspace, email="dana@example.org", unsubscribed_at=timezone.now()
        )
        outcome = self.send(self.event()).json()["matched"][0]
        self.assertEqual((outcome["status"], outcome["reason"]), ("skipped", "unsubscribed"))

    def test_an_inactive_survey_is_reported(self) -> None:
        Survey.objects.filter(pk=self.csat.pk).update(is_active=False)
        outcome = self.send(self.event()).json()["matched"][0]
        self.assertEqual((outcome["status"], outcome["reason"]), ("skipped", "survey_inactive"))
        self.assertIsNone(outcome["invitation"])

    def test_several_rules_each_report(self) -> None:
        nps = EventRule.objects.create(
            workspace=self.workspace, event_type="ticket.solved", survey=self.survey
        )
        body = self.send(self.event()).json()
        self.assertEqual([m["rule"] for m in body["matched"]], [self.rule.pk, nps.pk])
        # One contact, two surveys: the second is throttled by the first (recontact window).
        self.assertEqual([m["status"] for m in body["matched"]], ["scheduled", "skipped"])

    def test_a_retry_with_the_same_key_invites_nobody_twice(self) -> None:
        first = self.send(self.event(), **{"Idempotency-Key": "zd-4711"})
        again = self.send(self.event(idempotency_key="zd-4711"))
        self.assertEqual((first.status_code, again.status_code), (201, 200))
        self.assertEqual(first.json(), again.json())
        self.assertEqual(Invitation.objects.count(), 1)
        mismatch = self.send(self.event(idempotency_key="a"), **{"Idempotency-Key": "b"})
        self.assertApiError(mismatch, 422, "invalid", "idempotency_key")

    def test_bad_input_is_422_and_a_read_key_403(self) -> None:
        self.assertApiError(self.send(self.event(type="")), 422, "invalid", "type")
        self.assertApiError(self.send(self.event(type="ticket solved")), 422, "invalid", "type")
        self.assertApiError(self.send(self.event(contact={})), 422, "invalid", "contact")
        self.assertApiError(
            self.send(self.event(properties={"a": {"nested": 1}})), 422, "invalid", "properties"
        )
        self.assertApiError(self.send(self.event(), token=self.read_token), 403, "forbidden")
        self.assertFalse(InboundEvent.objects.exists())

    def test_another_workspaces_rules_never_fire(self) -> None:
        response = self.send(self.event(), token=self.charlies_token).json()
        self.assertEqual(response["matched"], [])
        self.assertFalse(Invitation.objects.exists())
        self.assertFalse(Contact.objects.filter(workspace=self.workspace).exists())


class RulesPageTest(ApiTestCase):
    url = "/w/acme/webhooks/rules/"

    def test_owners_add_and_edit_rules(self) -> None:
        self.login_as(self.alice)
        self.assertEqual(self.client.get(self.url).status_code, 200)
        data = {
            "event_type": "order.delivered",
            "survey": self.survey.pk,
            "delay_minutes": 1440,
            "conditions": "plan eq pro\ncountry in FI, EE",
            "is_active": "on",
        }
        self.assertEqual(self.client.post(self.url, data).status_code, 302)
        rule = EventRule.objects.get()
        self.assertEqual(
            rule.conditions[1], {"property": "country", "op": "in", "value": ["FI", "EE"]}
        )
        page = self.client.get(f"{self.url}{rule.pk}/")
        self.assertContains(page, "country in FI, EE")
        self.client.post(f"{self.url}{rule.pk}/", {**data, "delay_minutes": 5, "is_active": ""})
        rule.refresh_from_db()
        self.assertEqual((rule.delay_minutes, rule.is_active), (5, False))

    def test_bad_rules_are_explained(self) -> None:
        globex = Survey.objects.create(workspace=self.charlies_workspace, name="Globex")
        self.login_as(self.alice)
        data = {"event_type": "a b", "survey": globex.pk, "delay_minutes": -1, "conditions": "x"}
        response = self.client.post(self.url, data)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            set(response.context["form"].errors),
            {"event_type", "survey", "delay_minutes", "conditions"},
        )
        self.assertFalse(EventRule.objects.exists())

    def test_agents_get_403_and_outsiders_404(self) -> None:
        rule = EventRule.objects.create(
            workspace=self.workspace, event_type="ticket.solved", survey=self.survey
        )
        for url in [self.url, f"{self.url}{rule.pk}/", f"{self.url}{rule.pk}/delete/"]:
            for method in ("get", "post"):
                with self.subTest(url=url, method=method):
                    self.assertRefusedToOutsider(url, method)
                    self.login_as(self.bob)
                    self.assertEqual(getattr(self.client, method)(url).status_code, 403)
        self.assertTrue(EventRule.objects.filter(pk=rule.pk).exists())

    def test_deleting_a_rule(self) -> None:
        rule = EventRule.objects.create(
            workspace=self.workspace, event_type="ticket.solved", survey=self.survey
        )
        self.login_as(self.alice)
        self.client.post(f"{self.url}{rule.pk}/delete/")
        self.assertFalse(EventRule.objects.exists())
