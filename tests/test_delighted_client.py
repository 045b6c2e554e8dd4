"""The official delighted-python client (pinned in requirements-dev.txt) against a live Kaiku.

The client is used exactly as Delighted's users use it; only its base URL and
API key change. That is the promise to people moving from Delighted: their
scripts and integrations keep working with those two settings changed.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache
from django.test import LiveServerTestCase, override_settings

from kaiku.accounts.models import Membership, Role, User, Workspace
from kaiku.api.actions import create_api_key
from kaiku.api.models import Scope
from kaiku.contacts.models import Contact
from kaiku.responses.models import Response
from kaiku.surveys.models import Invitation, Survey
from tests.test_api_base import LOCMEM_CACHE

with warnings.catch_warnings():
    # delighted 4.2 warns at import that Delighted is being sunset (the reason Kaiku is here).
    warnings.simplefilter("ignore", FutureWarning)
    import delighted


@contextmanager
def delighted_client(api_key: str, base_url: str) -> Iterator[Any]:
    """Configure the library's module-level settings, as its README says, and restore them."""
    saved = (delighted.api_key, delighted.api_base_url, delighted.shared_client)
    delighted.api_key = api_key
    delighted.api_base_url = base_url
    delighted.shared_client = None  # built lazily from the two settings above
    try:
        yield delighted
    finally:
        delighted.api_key, delighted.api_base_url, delighted.shared_client = saved


@override_settings(CACHES=LOCMEM_CACHE)
class OfficialPythonClientTests(LiveServerTestCase):
    def setUp(self) -> None:
        cache.clear()
        self.workspace = Workspace.objects.create(name="Acme", slug="acme")
        alice = User.objects.create_user("alice@example.org", "pw-alice-123456", name="Alice")
        Membership.objects.create(workspace=self.workspace, user=alice, role=Role.OWNER)
        self.survey = Survey.objects.create(workspace=self.workspace, name="Relationship NPS")
        _key, self.token = create_api_key(
            self.workspace, "Former Delighted script", Scope.READ_WRITE, None, alice
        )
        self.base_url = f"{self.live_server_url}/delighted/v1/"

    def test_a_delighted_script_works_by_changing_only_the_base_url(self) -> None:
        with delighted_client(self.token, self.base_url) as d:
            person = d.Person.create(
                email="jony@appleseed.com",
                name="Jony Appleseed",
                properties={"plan": "pro", "question_product_name": "Kaiku"},
                delay=60,
            )
            self.assertEqual(person.email, "jony@appleseed.com")
            quiet = d.Person.create(email="quiet@example.org", send=False)
            self.assertIsNone(quiet["survey_scheduled_at"])

            response = d.SurveyResponse.create(
                person=person.id, score=9, comment="Really nice.", person_properties={"x": "1"}
            )
            self.assertEqual(response.score, 9)
            d.SurveyResponse.create(person=quiet.id, score=3)

            listed = d.SurveyResponse.all(expand=["person"], order="desc", per_page=10)
            self.assertEqual([r.score for r in listed], [3, 9])
            self.assertIsInstance(listed[1].person, d.Person)
            self.assertEqual(listed[1].person.email, "jony@appleseed.com")

            fetched = d.SurveyResponse.retrieve(response.id)
            fetched.comment = "Really nice, and fast."
            saved = fetched.save()
            self.assertEqual(saved.comment, "Really nice, and fast.")

            metrics = d.Metrics.retrieve()
            self.assertEqual(metrics.response_count, 2)
            self.assertEqual((metrics.promoter_count, metrics.detractor_count), (1, 1))
            self.assertEqual(metrics.nps, 0)

            d.Unsubscribe.create(person_email="quiet@example.org")
            self.assertEqual([u["email"] for u in d.Unsubscribe.all()], ["quiet@example.org"])
            self.assertEqual(d.Bounce.all(), [])

            self.assertEqual(
                d.SurveyRequest.delete_pending(person_email="jony@appleseed.com"), {"ok": True}
            )
            people = list(d.Person.list(per_page=1).auto_paging_iter())
            self.assertEqual([p.email for p in people], ["jony@appleseed.com", "quiet@example.org"])
            self.assertEqual(d.Person.delete(email="quiet@example.org"), {"ok": True})

        contact = Contact.objects.get(email="jony@appleseed.com")
        self.assertEqual(contact.properties, {"plan": "pro"})
        self.assertEqual(Invitation.objects.get(contact=contact).status, "cancelled")
        self.assertFalse(Contact.objects.filter(email="quiet@example.org").exists())
        self.assertEqual(Response.objects.filter(survey=self.survey).count(), 2)
        stored = Response.objects.get(contact=contact)
        self.assertEqual(stored.comment, "Really nice, and fast.")

    def test_the_clients_errors_map_to_its_exception_classes(self) -> None:
        with (
            delighted_client("kaiku_wrongkey_nope", self.base_url) as d,
            self.assertRaises(delighted.errors.AuthenticationError),
        ):
            d.Metrics.retrieve()
        with delighted_client(self.token, self.base_url) as d:
            with self.assertRaises(d.errors.ResourceValidationError) as caught:
                d.SurveyResponse.create(person="999999", score=5)
            self.assertIn("person", caught.exception.response.body)

    @override_settings(API_RATE_LIMIT_PER_MINUTE=1)
    def test_rate_limits_reach_the_client_with_retry_after(self) -> None:
        with delighted_client(self.token, self.base_url) as d:
            d.Metrics.retrieve()
            with self.assertRaises(d.errors.TooManyRequestsError) as caught:
                d.Metrics.retrieve()
            self.assertGreaterEqual(caught.exception.retry_after, 1)
