"""`/api/v1/contacts`: filters, cursor pages, get, upsert, erase, isolation."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from kaiku.contacts.models import Contact
from kaiku.responses.actions import record_response
from kaiku.responses.models import Response
from tests.test_api_base import ApiTestCase


class ContactsApiTestCase(ApiTestCase):
    def add(self, email: str, **fields: object) -> Contact:
        return Contact.objects.create(workspace=self.workspace, email=email, **fields)


class ListContactsTest(ContactsApiTestCase):
    def test_it_lists_the_workspaces_contacts_oldest_first(self) -> None:
        dana = self.add("dana@example.org", name="Dana", properties={"plan": "pro"})
        eero = self.add("eero@example.org")
        Contact.objects.create(workspace=self.charlies_workspace, email="globex@example.org")
        body = self.api_get("/contacts").json()
        self.assertEqual([c["id"] for c in body["data"]], [dana.pk, eero.pk])
        self.assertIsNone(body["next_cursor"])
        first = body["data"][0]
        self.assertEqual(first["properties"], {"plan": "pro"})
        self.assertIsNone(first["unsubscribed_at"])
        self.assertTrue(first["created_at"].endswith("Z"))

    def test_it_filters_by_email_external_id_and_updated_since(self) -> None:
        start = timezone.now()
        with time_machine.travel(start - timedelta(days=2)):
            old = self.add("old@example.org", external_id="crm-1")
        new = self.add("New@Example.org")
        emails = self.api_get("/contacts", email="NEW@example.org").json()["data"]
        self.assertEqual([c["id"] for c in emails], [new.pk])
        by_id = self.api_get("/contacts", external_id="crm-1").json()["data"]
        self.assertEqual([c["id"] for c in by_id], [old.pk])
        since = self.api_get("/contacts", updated_since=(start - timedelta(hours=1)).isoformat())
        self.assertEqual([c["id"] for c in since.json()["data"]], [new.pk])

    def test_it_filters_by_property_values(self) -> None:
        pro = self.add("a@example.org", properties={"plan": "Pro", "seats": 5, "vip": True})
        self.add("b@example.org", properties={"plan": "free", "seats": 50})
        self.add("c@example.org")
        rows = self.client.get(
            "/api/v1/contacts?property[plan]=pro", headers=self._auth(self.read_token)
        ).json()["data"]
        self.assertEqual([c["id"] for c in rows], [pro.pk])
        numbers = self.client.get(
            "/api/v1/contacts?property[seats]=5&property[vip]=true",
            headers=self._auth(self.read_token),
        ).json()["data"]
        self.assertEqual([c["id"] for c in numbers], [pro.pk])
        none = self.client.get(
            "/api/v1/contacts?property[plan]=pro&property[seats]=50",
            headers=self._auth(self.read_token),
        ).json()["data"]
        self.assertEqual(none, [])

    def test_cursor_pages_are_stable_under_inserts(self) -> None:
        ids = [self.add(f"p{i}@example.org").pk for i in range(5)]
        page1 = self.api_get("/contacts", limit=2).json()
        self.add("late@example.org")  # inserted while the client pages
        page2 = self.api_get("/contacts", limit=2, cursor=page1["next_cursor"]).json()
        page3 = self.api_get("/contacts", limit=2, cursor=page2["next_cursor"]).json()
        seen = [c["id"] for p in (page1, page2, page3) for c in p["data"]]
        self.assertEqual(seen[:5], ids)
        self.assertEqual(len(seen), len(set(seen)))

    def test_a_bad_cursor_or_limit_is_422(self) -> None:
        self.assertApiError(self.api_get("/contacts", cursor="zzz"), 422, "invalid", "cursor")
        self.assertApiError(self.api_get("/contacts", limit=0), 422, "invalid", "limit")

    def test_a_page_costs_two_queries(self) -> None:
        for i in range(3):
            self.add(f"q{i}@example.org")
        self.api_get("/contacts")  # notes the key's last use (a write, once a minute)
        with self.assertNumQueries(2):  # the key, the page
            self.assertEqual(self.api_get("/contacts").status_code, 200)


class ContactObjectTest(ContactsApiTestCase):
    def test_it_gets_a_contact(self) -> None:
        dana = self.add("dana@example.org", name="Dana")
        body = self.api_get(f"/contacts/{dana.pk}").json()
        self.assertEqual((body["id"], body["name"]), (dana.pk, "Dana"))

    def test_it_creates_then_updates_by_email(self) -> None:
        created = self.api_post(
            "/contacts",
            {"email": "Dana@Example.org", "name": "Dana", "properties": {"plan": "pro"}},
        )
        self.assertEqual(created.status_code, 201, created.content)
        updated = self.api_post("/contacts", {"email": "dana@example.org", "language": "fi"})
        self.assertEqual(updated.status_code, 200)
        body = updated.json()
        self.assertEqual(body["id"], created.json()["id"])
        self.assertEqual((body["language"], body["properties"]), ("fi", {"plan": "pro"}))

    def test_it_upserts_by_external_id(self) -> None:
        first = self.api_post("/contacts", {"external_id": "crm-7", "name": "Ville"})
        again = self.api_post("/contacts", {"external_id": "crm-7", "email": "ville@example.org"})
        self.assertEqual((first.status_code, again.status_code), (201, 200))
        self.assertEqual(again.json()["email"], "ville@example.org")
        self.assertEqual(Contact.objects.filter(workspace=self.workspace).count(), 1)

    def test_upsert_validates_input(self) -> None:
        self.assertApiError(self.api_post("/contacts", {"name": "Nobody"}), 422, "invalid")
        self.assertApiError(self.api_post("/contacts", {"email": "nope"}), 422, "invalid", "email")
        self.assertApiError(
            self.api_post("/contacts", {"email": "a@example.org", "properties": {"x": [1]}}),
            422,
            "invalid",
            "properties",
        )
        self.assertApiError(
            self.api_post("/contacts", {"email": "a@example.org"}, token=self.read_token),
            403,
            "forbidden",
        )

    def test_delete_erases_the_contact_and_keeps_the_score(self) -> None:
        dana = self.add("dana@example.org")
        recorded = record_response(
            survey=self.survey, score=3, channel="api", contact=dana, comment="Bad"
        )
        response = self.client.delete(
            f"/api/v1/contacts/{dana.pk}", headers=self._auth(self.write_token)
        )
        self.assertEqual(response.status_code, 204)
        self.assertFalse(Contact.objects.filter(pk=dana.pk).exists())
        kept = Response.objects.get(pk=recorded.response.pk)
        self.assertEqual((kept.score, kept.contact_id), (3, None))

    def test_charlie_gets_404_on_every_contact_route(self) -> None:
        dana = self.add("dana@example.org")
        token = self.charlies_token
        self.assertApiError(self.api_get(f"/contacts/{dana.pk}", token=token), 404, "not_found")
        deleted = self.client.delete(f"/api/v1/contacts/{dana.pk}", headers=self._auth(token))
        self.assertApiError(deleted, 404, "not_found")
        self.assertEqual(self.api_get("/contacts", token=token).json()["data"], [])
        self.assertEqual(
            self.api_get("/contacts", token=token, email="dana@example.org").json()["data"], []
        )
        # An upsert with Dana's email makes Globex its own contact, never touches Acme's.
        self.assertEqual(
            self.api_post("/contacts", {"email": "dana@example.org"}, token).status_code, 201
        )
        self.assertEqual(Contact.objects.get(pk=dana.pk).workspace_id, self.workspace.pk)
        self.assertTrue(Contact.objects.filter(pk=dana.pk).exists())
