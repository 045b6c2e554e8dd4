"""POST /api/v1/responses and GET /api/v1/responses/{id}."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from kaiku.contacts.models import Contact
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey
from tests.test_api_base import ApiTestCase


class ApiResponsesTestCase(ApiTestCase):
    def answer(self, **fields: Any) -> dict[str, Any]:
        return {"survey": self.survey.pk, "score": 9, **fields}

    def assertNothingStored(self) -> None:
        assert not Response.objects.exists()
        assert not Contact.objects.exists()


class CreateResponseTests(ApiResponsesTestCase):
    def test_it_records_an_answer(self) -> None:
        response = self.api_post(
            "/responses",
            self.answer(
                comment="Fast support",
                contact={"email": "Dana@Example.org", "name": "Dana", "language": "fi"},
                properties={"plan": "pro"},
            ),
        )
        assert response.status_code == 201, response.content
        body = response.json()
        stored = Response.objects.get()
        assert body["id"] == stored.pk
        assert body["survey"] == self.survey.pk
        assert body["score"] == 9
        assert body["comment"] == "Fast support"
        assert body["channel"] == "api"
        assert body["language"] == "fi"
        assert body["properties"] == {"plan": "pro"}
        assert body["contact"]["email"] == "dana@example.org"
        assert body["contact"]["name"] == "Dana"
        assert stored.channel == "api"
        assert stored.workspace == self.workspace
        assert stored.contact is not None
        assert stored.contact.email == "dana@example.org"

    def test_an_anonymous_answer_needs_no_contact(self) -> None:
        response = self.api_post("/responses", self.answer(score=3))
        assert response.status_code == 201
        assert response.json()["contact"] is None
        assert Response.objects.get().contact is None

    def test_a_retry_with_the_same_key_returns_the_first_answer(self) -> None:
        first = self.api_post("/responses", self.answer(idempotency_key="ticket-42"))
        again = self.api_post("/responses", self.answer(score=2, idempotency_key="ticket-42"))
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["score"] == 9
        assert Response.objects.count() == 1

    def test_the_key_may_come_as_a_header(self) -> None:
        headers = {"Idempotency-Key": "ticket-43"}
        first = self.api_post("/responses", self.answer(), headers=headers)
        again = self.api_post("/responses", self.answer(), headers=headers)
        from_body = self.api_post("/responses", self.answer(idempotency_key="ticket-43"))
        assert (first.status_code, again.status_code, from_body.status_code) == (201, 200, 200)
        assert first.json()["id"] == again.json()["id"] == from_body.json()["id"]
        assert Response.objects.get().idempotency_key == "ticket-43"

    def test_a_header_and_body_key_must_agree(self) -> None:
        response = self.api_post(
            "/responses",
            self.answer(idempotency_key="a"),
            headers={"Idempotency-Key": "b"},
        )
        self.assertApiError(response, 422, "invalid", "idempotency_key")
        self.assertNothingStored()

    def test_keys_are_per_workspace(self) -> None:
        globex = Survey.objects.create(workspace=self.charlies_workspace, name="Globex NPS")
        mine = self.api_post("/responses", self.answer(idempotency_key="same"))
        theirs = self.api_post(
            "/responses",
            {"survey": globex.pk, "score": 5, "idempotency_key": "same"},
            token=self.charlies_token,
        )
        assert (mine.status_code, theirs.status_code) == (201, 201)
        assert mine.json()["id"] != theirs.json()["id"]

    def test_it_backfills_created_at(self) -> None:
        when = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
        response = self.api_post("/responses", self.answer(created_at="2024-03-01T14:30:00+02:00"))
        assert response.status_code == 201
        assert Response.objects.get().created_at == when
        assert response.json()["created_at"].startswith("2024-03-01T12:30:00")


class ContactUpsertTests(ApiResponsesTestCase):
    def test_it_finds_the_contact_by_email(self) -> None:
        dana = Contact.objects.create(
            workspace=self.workspace, email="dana@example.org", properties={"plan": "free"}
        )
        response = self.api_post(
            "/responses",
            self.answer(contact={"email": "DANA@example.org", "properties": {"region": "EU"}}),
        )
        assert response.status_code == 201
        assert Contact.objects.count() == 1
        dana.refresh_from_db()
        assert dana.properties == {"plan": "free", "region": "EU"}
        stored = Response.objects.get()
        assert stored.contact == dana
        assert stored.properties == {"plan": "free", "region": "EU"}

    def test_it_creates_and_updates_by_external_id(self) -> None:
        contact = {
            "external_id": "crm-7",
            "name": "Eve",
            "properties": {"plan": "pro", "seats": 12},
        }
        self.api_post("/responses", self.answer(contact=contact))
        eve = Contact.objects.get(external_id="crm-7")
        assert eve.workspace == self.workspace
        assert eve.name == "Eve"
        assert eve.properties == {"plan": "pro", "seats": 12}

        update = {"external_id": "crm-7", "properties": {"seats": 15}}
        response = self.api_post("/responses", self.answer(score=4, contact=update))
        assert response.status_code == 201
        assert Contact.objects.count() == 1
        eve.refresh_from_db()
        assert eve.properties == {"plan": "pro", "seats": 15}
        assert response.json()["contact"]["external_id"] == "crm-7"
        assert response.json()["properties"] == {"plan": "pro", "seats": 15}

    def test_a_contact_of_another_workspace_is_never_touched(self) -> None:
        theirs = Contact.objects.create(
            workspace=self.charlies_workspace, email="dana@example.org", name="Globex Dana"
        )
        self.api_post("/responses", self.answer(contact={"email": "dana@example.org", "name": "X"}))
        theirs.refresh_from_db()
        assert theirs.name == "Globex Dana"
        assert Response.objects.get().contact != theirs


class BadInputTests(ApiResponsesTestCase):
    """Each bad input is a 422 naming the field, and nothing is stored."""

    def assertRejected(self, body: dict[str, Any], field: str) -> None:
        response = self.api_post("/responses", body)
        self.assertApiError(response, 422, "invalid", field)
        self.assertNothingStored()

    def test_a_score_outside_the_scale(self) -> None:
        contact = {"email": "dana@example.org"}
        self.assertRejected(self.answer(score=11, contact=contact), "score")
        self.assertRejected(self.answer(score=-1, contact=contact), "score")
        csat = Survey.objects.create(workspace=self.workspace, name="CSAT", kind="csat")
        self.assertRejected({"survey": csat.pk, "score": 0, "contact": contact}, "score")

    def test_a_score_that_is_not_a_whole_number(self) -> None:
        self.assertRejected(self.answer(score="9"), "score")
        self.assertRejected(self.answer(score=8.5), "score")
        self.assertRejected(self.answer(score=True), "score")

    def test_a_missing_survey_or_score(self) -> None:
        self.assertRejected({"score": 9}, "survey")
        self.assertRejected({"survey": self.survey.pk}, "score")

    def test_a_bad_email(self) -> None:
        self.assertRejected(self.answer(contact={"email": "not-an-email"}), "contact.email")

    def test_a_contact_without_an_identifier(self) -> None:
        self.assertRejected(self.answer(contact={"name": "Nobody"}), "contact")

    def test_a_comment_that_is_too_long(self) -> None:
        self.assertRejected(self.answer(comment="x" * 5001), "comment")

    def test_too_many_properties(self) -> None:
        many = {f"p{i}": i for i in range(51)}
        self.assertRejected(self.answer(properties=many), "properties")
        contact = {"email": "dana@example.org", "properties": many}
        self.assertRejected(self.answer(contact=contact), "contact.properties")

    def test_nested_properties(self) -> None:
        self.assertRejected(self.answer(properties={"a": {"b": 1}}), "properties")

    def test_a_time_without_zone_or_in_the_future(self) -> None:
        self.assertRejected(self.answer(created_at="2024-03-01T12:00:00"), "created_at")
        future = (timezone.now() + timedelta(hours=1)).isoformat()
        self.assertRejected(self.answer(created_at=future), "created_at")

    def test_a_closed_survey(self) -> None:
        Survey.objects.filter(pk=self.survey.pk).update(is_active=False)
        self.assertRejected(self.answer(contact={"email": "dana@example.org"}), "survey")

    def test_a_body_that_is_not_an_object(self) -> None:
        response = self.api_post("/responses", [1, 2])
        assert response.status_code == 422
        self.assertNothingStored()


class IsolationTests(ApiResponsesTestCase):
    def test_another_workspaces_survey_is_404(self) -> None:
        body = {"survey": self.survey.pk, "score": 9, "contact": {"email": "c@example.org"}}
        response = self.api_post("/responses", body, token=self.charlies_token)
        self.assertApiError(response, 404, "not_found", "survey")
        self.assertNothingStored()

    def test_an_unknown_survey_is_the_same_404(self) -> None:
        response = self.api_post("/responses", self.answer(survey=987654))
        self.assertApiError(response, 404, "not_found", "survey")

    def test_charlies_key_cannot_read_acmes_response(self) -> None:
        created = self.api_post("/responses", self.answer(contact={"email": "d@example.org"}))
        url = f"/responses/{created.json()['id']}"
        assert self.api_get(url).status_code == 200
        response = self.api_get(url, self.charlies_token)
        self.assertApiError(response, 404, "not_found")
        assert b"d@example.org" not in response.content

    def test_charlies_key_cannot_read_acmes_survey(self) -> None:
        response = self.api_get(f"/surveys/{self.survey.pk}", self.charlies_token)
        self.assertApiError(response, 404, "not_found")


class GetResponseTests(ApiResponsesTestCase):
    def test_it_returns_a_stored_response(self) -> None:
        created = self.api_post(
            "/responses",
            self.answer(score=6, comment="Slow", contact={"external_id": "crm-1"}),
        ).json()
        response = self.api_get(f"/responses/{created['id']}")
        assert response.status_code == 200
        assert response.json() == created

    def test_a_read_key_may_read(self) -> None:
        created = self.api_post("/responses", self.answer()).json()
        assert self.api_get(f"/responses/{created['id']}", self.read_token).status_code == 200

    def test_an_unknown_id_is_404(self) -> None:
        self.assertApiError(self.api_get("/responses/424242"), 404, "not_found")
