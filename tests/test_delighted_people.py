"""/delighted/v1/people: send to people, list them with cursor paging, delete them."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from django.utils import timezone

from kaiku.contacts.models import Contact
from kaiku.responses.models import Response
from kaiku.surveys.models import Invitation, InvitationStatus
from tests.delighted_base import DelightedTestCase


class SendToPeopleTests(DelightedTestCase):
    def test_it_creates_a_person_and_schedules_a_survey_after_the_delay(self) -> None:
        before = timezone.now()
        response = self.d_post(
            "people.json",
            {
                "email": "Jony@Appleseed.com",
                "name": "Jony Appleseed",
                "delay": 90,
                "properties": {"plan": "pro", "customer_id": 123},
            },
        )
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        contact = Contact.objects.get(workspace=self.workspace, email="jony@appleseed.com")
        self.assertEqual(body["id"], str(contact.pk))
        self.assertEqual(body["email"], "jony@appleseed.com")
        self.assertEqual(body["name"], "Jony Appleseed")
        self.assertEqual(body["properties"], {"plan": "pro", "customer_id": 123})
        self.assertEqual(contact.properties, {"plan": "pro", "customer_id": 123})
        invitation = Invitation.objects.get(contact=contact)
        self.assertEqual(invitation.survey, self.survey)
        # 90 seconds is 2 minutes in Kaiku's whole-minute schedule.
        self.assertGreaterEqual(invitation.send_at, before + timedelta(minutes=2))
        self.assertLess(invitation.send_at, before + timedelta(minutes=3))
        self.assertEqual(body["survey_scheduled_at"], int(invitation.send_at.timestamp()))

    def test_send_false_only_upserts_the_person(self) -> None:
        contact = self.make_contact("ann@example.org", name="Ann")
        response = self.d_post(
            "people", {"email": "ann@example.org", "name": "Ann B", "send": False}
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["id"], str(contact.pk))
        self.assertIsNone(response.json()["survey_scheduled_at"])
        contact.refresh_from_db()
        self.assertEqual(contact.name, "Ann B")
        self.assertFalse(Invitation.objects.filter(contact=contact).exists())

    def test_it_reads_form_encoded_bodies_with_bracketed_properties(self) -> None:
        response = self.d_post(
            "people",
            {"email": "form@example.org", "properties[plan]": "pro", "send": "false"},
            form=True,
        )
        self.assertEqual(response.status_code, 200, response.content)
        contact = Contact.objects.get(email="form@example.org")
        self.assertEqual(contact.properties, {"plan": "pro"})
        self.assertFalse(Invitation.objects.filter(contact=contact).exists())

    def test_special_properties_shape_the_request_not_the_person(self) -> None:
        self.d_post(
            "people",
            {
                "email": "fi@example.org",
                "properties": {
                    "locale": "fi_FI",
                    "question_product_name": "Kaiku Pro",
                    "thank_you_link_url": "https://example.org/thanks",
                    "plan": "pro",
                },
            },
        )
        contact = Contact.objects.get(email="fi@example.org")
        self.assertEqual(contact.language, "fi")
        self.assertEqual(contact.properties, {"plan": "pro"})
        invitation = Invitation.objects.get(contact=contact)
        self.assertEqual(
            invitation.properties,
            {
                "question_product_name": "Kaiku Pro",
                "thank_you_link_url": "https://example.org/thanks",
            },
        )

    def test_a_phone_only_person_is_stored_without_a_send(self) -> None:
        response = self.d_post("people", {"phone_number": "+358401234567", "channel": "sms"})
        self.assertEqual(response.status_code, 200, response.content)
        contact = Contact.objects.get(phone="+358401234567")
        self.assertEqual(response.json()["phone_number"], "+358401234567")
        self.assertIsNone(contact.email)
        self.assertFalse(Invitation.objects.filter(contact=contact).exists())
        # The same number again finds the same person.
        again = self.d_post("people", {"phone_number": "+358401234567", "name": "Pia"})
        self.assertEqual(again.json()["id"], str(contact.pk))
        self.assertEqual(Contact.objects.filter(phone="+358401234567").count(), 1)

    def test_email_update_changes_the_address(self) -> None:
        contact = self.make_contact("old@example.org")
        response = self.d_post(
            "people", {"email": "old@example.org", "email_update": "new@example.org", "send": False}
        )
        self.assertEqual(response.status_code, 200, response.content)
        contact.refresh_from_db()
        self.assertEqual(contact.email, "new@example.org")

    def test_it_rejects_a_person_without_email_or_phone(self) -> None:
        self.assertDelightedError(self.d_post("people", {"name": "Nobody"}), 422, "email")
        self.assertFalse(Contact.objects.filter(name="Nobody").exists())

    def test_it_rejects_an_invalid_email_and_a_negative_delay(self) -> None:
        self.assertDelightedError(self.d_post("people", {"email": "not-an-email"}), 422, "email")
        self.assertDelightedError(
            self.d_post("people", {"email": "a@example.org", "delay": -5}), 422, "delay"
        )
        self.assertDelightedError(
            self.d_post("people", {"email": "a@example.org", "delay": "soon"}), 422, "delay"
        )

    def test_nested_property_values_are_refused(self) -> None:
        response = self.d_post("people", {"email": "a@example.org", "properties": {"x": {"y": 1}}})
        self.assertDelightedError(response, 422, "properties[x]")

    def test_an_unsubscribed_person_is_not_scheduled(self) -> None:
        self.make_contact("gone@example.org", unsubscribed_at=timezone.now())
        response = self.d_post("people", {"email": "gone@example.org"})
        self.assertEqual(response.status_code, 200, response.content)
        self.assertIsNone(response.json()["survey_scheduled_at"])
        self.assertFalse(
            Invitation.objects.filter(
                contact__email="gone@example.org", status=InvitationStatus.SCHEDULED
            ).exists()
        )

    def test_charlies_key_writes_to_globex_only(self) -> None:
        response = self.d_post(
            "people", {"email": "x@example.org", "send": False}, token=self.charlies_token
        )
        self.assertEqual(response.status_code, 200, response.content)
        contact = Contact.objects.get(email="x@example.org")
        self.assertEqual(contact.workspace, self.charlies_workspace)
        # Globex has no NPS survey: a send needs a target survey.
        refused = self.d_post("people", {"email": "y@example.org"}, token=self.charlies_token)
        self.assertDelightedError(refused, 422)


class ListPeopleTests(DelightedTestCase):
    def test_it_pages_by_cursor_with_a_link_header(self) -> None:
        contacts = [self.make_contact(f"p{i}@example.org") for i in range(5)]
        seen: list[str] = []
        response = self.d_get("people.json", {"per_page": 2})
        pages = 0
        while True:
            pages += 1
            self.assertEqual(response.status_code, 200, response.content)
            seen += [person["id"] for person in response.json()]
            link = response.get("Link")
            if not link:
                break
            self.assertRegex(
                link, r'^<http://testserver/delighted/v1/people\.json\?.+>; rel="next"$'
            )
            url = urlsplit(link[1 : link.index(">")])
            self.assertIn("per_page=2", url.query)
            response = self.client.get(
                f"{url.path}?{url.query}", headers={"authorization": self._basic()}
            )
        self.assertEqual(pages, 3)
        self.assertEqual(seen, [str(c.pk) for c in contacts])

    def _basic(self) -> str:
        from tests.delighted_base import basic

        return basic(self.read_token)

    def test_a_person_has_delighteds_fields_and_activity_times(self) -> None:
        contact = self.make_contact("ann@example.org", name="Ann", phone="+3581")
        sent_at = timezone.now() - timedelta(days=3)
        Invitation.objects.create(
            workspace=self.workspace,
            survey=self.survey,
            contact=contact,
            status=InvitationStatus.SENT,
            sent_at=sent_at,
        )
        answer = self.make_response(contact, 9)
        with self.assertNumQueries(3):  # key, last-used stamp, the page
            response = self.d_get("people", {"email": "ANN@example.org"})
        [person] = response.json()
        self.assertEqual(
            person,
            {
                "id": str(contact.pk),
                "email": "ann@example.org",
                "name": "Ann",
                "phone_number": "+3581",
                "created_at": int(contact.created_at.timestamp()),
                "last_sent_at": int(sent_at.timestamp()),
                "last_responded_at": int(answer.created_at.timestamp()),
                "next_survey_scheduled_at": None,
            },
        )
        self.assertNotIn("Link", response)

    def test_since_and_until_are_unix_seconds_inclusive(self) -> None:
        now = timezone.now().replace(microsecond=0)
        old = self.make_contact("old@example.org", created_at=now - timedelta(days=10))
        mid = self.make_contact("mid@example.org", created_at=now - timedelta(days=5))
        self.make_contact("new@example.org", created_at=now)
        since = int((now - timedelta(days=10)).timestamp())
        until = int((now - timedelta(days=5)).timestamp())
        response = self.d_get("people", {"since": since, "until": until})
        self.assertEqual([p["id"] for p in response.json()], [str(old.pk), str(mid.pk)])
        self.assertDelightedError(self.d_get("people", {"since": "yesterday"}), 422, "since")

    def test_a_forged_cursor_is_a_422(self) -> None:
        self.assertDelightedError(self.d_get("people", {"page_info": "%%%"}), 422, "page_info")

    def test_charlie_sees_no_acme_people(self) -> None:
        self.make_contact("ann@example.org")
        response = self.d_get("people", token=self.charlies_token)
        self.assertEqual(response.json(), [])
        response = self.d_get("people", {"email": "ann@example.org"}, token=self.charlies_token)
        self.assertEqual(response.json(), [])


class DeletePeopleTests(DelightedTestCase):
    def test_delete_by_id_erases_the_person_and_keeps_the_score(self) -> None:
        contact = self.make_contact("ann@example.org", name="Ann")
        answer = self.make_response(contact, 3, comment="Ann here: slow support")
        response = self.d_send("delete", f"people/{contact.pk}")
        self.assertEqual(response.status_code, 202, response.content)
        self.assertEqual(response.json(), {"ok": True})
        self.assertFalse(Contact.objects.filter(pk=contact.pk).exists())
        answer.refresh_from_db()
        self.assertEqual(answer.score, 3)
        self.assertIsNone(answer.contact_id)
        self.assertEqual(answer.comment, "")

    def test_delete_by_email_and_by_phone_number(self) -> None:
        by_email = self.make_contact("ann@example.org")
        by_phone = self.make_contact("bob@example.org", phone="+358401234567")
        self.assertEqual(self.d_send("delete", "people/email%3Aann%40example.org").status_code, 202)
        self.assertEqual(
            self.d_send("delete", "people/phone_number:+358401234567").status_code, 202
        )
        self.assertFalse(Contact.objects.filter(pk__in=[by_email.pk, by_phone.pk]).exists())

    def test_charlie_cannot_delete_an_acme_person(self) -> None:
        contact = self.make_contact("ann@example.org")
        for identifier in (str(contact.pk), "email:ann@example.org"):
            response = self.d_send("delete", f"people/{identifier}", token=self.charlies_token)
            self.assertDelightedError(response, 404)
        self.assertTrue(Contact.objects.filter(pk=contact.pk).exists())

    def test_a_read_only_key_cannot_delete(self) -> None:
        contact = self.make_contact("ann@example.org")
        response = self.d_send("delete", f"people/{contact.pk}", token=self.read_token)
        self.assertDelightedError(response, 403)
        self.assertTrue(Contact.objects.filter(pk=contact.pk).exists())


class PendingSurveyRequestTests(DelightedTestCase):
    def test_it_cancels_scheduled_invitations_by_email(self) -> None:
        contact = self.make_contact("ann+x@example.org")
        pending = Invitation.objects.create(
            workspace=self.workspace, survey=self.survey, contact=contact
        )
        sent = Invitation.objects.create(
            workspace=self.workspace,
            survey=self.survey,
            contact=contact,
            status=InvitationStatus.SENT,
            sent_at=timezone.now(),
        )
        # delighted-python quotes the address into the path: ann%2Bx%40example.org
        response = self.d_send("delete", "people/ann%2Bx%40example.org/survey_requests/pending")
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json(), {"ok": True})
        pending.refresh_from_db()
        sent.refresh_from_db()
        self.assertEqual(pending.status, InvitationStatus.CANCELLED)
        self.assertEqual(sent.status, InvitationStatus.SENT)

    def test_unknown_and_other_workspaces_people_are_404(self) -> None:
        self.make_contact("ann@example.org")
        path = "people/ann%40example.org/survey_requests/pending.json"
        self.assertDelightedError(self.d_send("delete", path, token=self.charlies_token), 404)
        self.assertDelightedError(
            self.d_send("delete", "people/nobody%40example.org/survey_requests/pending"), 404
        )


class ResponsesSurvivePeopleTests(DelightedTestCase):
    def test_erasing_keeps_the_answer_count(self) -> None:
        contact = self.make_contact("ann@example.org")
        self.make_response(contact, 10)
        self.d_send("delete", f"people/{contact.pk}.json")
        self.assertEqual(Response.objects.filter(survey=self.survey).count(), 1)
