"""/delighted/v1/survey_responses and /metrics."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from kaiku.contacts.models import Contact
from kaiku.delighted.models import DelightedSettings
from kaiku.responses.models import Channel, Response
from kaiku.surveys.models import Kind, Survey
from tests.delighted_base import DelightedTestCase


class CreateResponseTests(DelightedTestCase):
    def test_it_records_an_answer_for_a_person(self) -> None:
        contact = self.make_contact("ann@example.org")
        response = self.d_post(
            "survey_responses.json",
            {
                "person": str(contact.pk),
                "score": 9,
                "comment": "Fast and friendly",
                "person_properties": {"segment": "Online"},
            },
        )
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        answer = Response.objects.get(pk=int(body["id"]))
        self.assertEqual(
            (answer.score, answer.comment, answer.channel), (9, "Fast and friendly", Channel.API)
        )
        self.assertEqual(answer.contact, contact)
        self.assertEqual(answer.survey, self.survey)
        self.assertEqual(answer.properties["segment"], "Online")
        self.assertEqual(body["person"], str(contact.pk))
        self.assertEqual(body["survey_type"], "nps")
        self.assertEqual(body["score"], 9)
        self.assertEqual(body["created_at"], int(answer.created_at.timestamp()))
        self.assertEqual(body["notes"], [])
        self.assertEqual(body["tags"], [])
        self.assertEqual(body["additional_answers"], [])

    def test_it_reads_form_bodies_and_backfills_created_at(self) -> None:
        contact = self.make_contact("ann@example.org")
        then = int((timezone.now() - timedelta(days=400)).timestamp())
        response = self.d_post(
            "survey_responses",
            {
                "person": contact.pk,
                "score": "3",
                "created_at": then,
                "person_properties[plan]": "basic",
            },
            form=True,
        )
        self.assertEqual(response.status_code, 200, response.content)
        answer = Response.objects.get(pk=int(response.json()["id"]))
        self.assertEqual(int(answer.created_at.timestamp()), then)
        self.assertEqual(answer.score, 3)
        self.assertEqual(answer.properties["plan"], "basic")

    def test_it_goes_to_the_configured_target_survey(self) -> None:
        other = Survey.objects.create(workspace=self.workspace, name="Support NPS")
        DelightedSettings.objects.create(workspace=self.workspace, target_survey=other)
        contact = self.make_contact("ann@example.org")
        response = self.d_post("survey_responses", {"person": contact.pk, "score": 10})
        self.assertEqual(Response.objects.get(pk=int(response.json()["id"])).survey, other)

    def test_validation_errors_are_422_with_the_field(self) -> None:
        contact = self.make_contact("ann@example.org")
        self.assertDelightedError(self.d_post("survey_responses", {"score": 5}), 422, "person")
        self.assertDelightedError(
            self.d_post("survey_responses", {"person": contact.pk}), 422, "score"
        )
        self.assertDelightedError(
            self.d_post("survey_responses", {"person": contact.pk, "score": 11}), 422, "score"
        )
        self.assertDelightedError(
            self.d_post("survey_responses", {"person": contact.pk, "score": "ten"}), 422, "score"
        )
        self.assertDelightedError(
            self.d_post("survey_responses", {"person": "999999", "score": 5}), 422, "person"
        )
        self.assertFalse(Response.objects.exists())

    def test_charlie_cannot_answer_as_an_acme_person(self) -> None:
        contact = self.make_contact("ann@example.org")
        response = self.d_post(
            "survey_responses", {"person": contact.pk, "score": 5}, token=self.charlies_token
        )
        self.assertDelightedError(response, 422, "person")
        self.assertNotIn(b"ann@", response.content)


class ListResponsesTests(DelightedTestCase):
    def setUp(self) -> None:
        super().setUp()
        now = timezone.now().replace(microsecond=0)
        self.ann = self.make_contact("ann@example.org", name="Ann")
        self.ben = self.make_contact("ben@example.org")
        self.first = self.make_response(self.ann, 10, created_at=now - timedelta(days=3))
        self.second = self.make_response(self.ben, 6, created_at=now - timedelta(days=2))
        self.third = self.make_response(self.ann, 8, created_at=now - timedelta(days=1))
        # updated_at order differs from created_at order: first was edited last.
        for answer, hours in ((self.second, 3), (self.third, 2), (self.first, 1)):
            Response.objects.filter(pk=answer.pk).update(updated_at=now - timedelta(hours=hours))
        self.now = now

    def ids(self, **params: object) -> list[str]:
        response = self.d_get("survey_responses.json", params)
        self.assertEqual(response.status_code, 200, response.content)
        return [item["id"] for item in response.json()]

    def test_default_order_is_oldest_first_and_desc_reverses(self) -> None:
        expected = [str(a.pk) for a in (self.first, self.second, self.third)]
        self.assertEqual(self.ids(), expected)
        self.assertEqual(self.ids(order="desc"), expected[::-1])

    def test_order_by_updated_at(self) -> None:
        by_update = [str(a.pk) for a in (self.second, self.third, self.first)]
        self.assertEqual(self.ids(order="asc:updated_at"), by_update)
        self.assertEqual(self.ids(order="desc:updated_at"), by_update[::-1])
        self.assertDelightedError(
            self.d_get("survey_responses", {"order": "sideways"}), 422, "order"
        )

    def test_paging_and_per_page_cap(self) -> None:
        self.assertEqual(self.ids(per_page=2), [str(self.first.pk), str(self.second.pk)])
        self.assertEqual(self.ids(per_page=2, page=2), [str(self.third.pk)])
        self.assertEqual(self.ids(per_page=2, page=3), [])
        self.assertEqual(len(self.ids(per_page=1000)), 3)

    def test_time_filters_are_unix_seconds(self) -> None:
        two_days_ago = int((self.now - timedelta(days=2)).timestamp())
        self.assertEqual(self.ids(since=two_days_ago), [str(self.second.pk), str(self.third.pk)])
        self.assertEqual(self.ids(until=two_days_ago), [str(self.first.pk), str(self.second.pk)])
        updated = int((self.now - timedelta(hours=2)).timestamp())
        self.assertEqual(self.ids(updated_since=updated), [str(self.first.pk), str(self.third.pk)])
        self.assertEqual(self.ids(updated_until=updated - 1), [str(self.second.pk)])

    def test_person_filters(self) -> None:
        self.assertEqual(self.ids(person_id=self.ben.pk), [str(self.second.pk)])
        self.assertEqual(
            self.ids(person_email="ANN@example.org"), [str(self.first.pk), str(self.third.pk)]
        )

    def test_expand_person_embeds_the_person(self) -> None:
        # key, last-used stamp, target survey (settings, then fallback), answers, their people
        with self.assertNumQueries(6):
            response = self.d_get("survey_responses", {"expand[]": ["person", "notes"]})
        first = response.json()[0]
        self.assertEqual(first["person"]["id"], str(self.ann.pk))
        self.assertEqual(first["person"]["email"], "ann@example.org")
        self.assertEqual(first["person"]["name"], "Ann")
        self.assertEqual(first["notes"], [])
        plain = self.d_get("survey_responses").json()[0]
        self.assertEqual(plain["person"], str(self.ann.pk))

    def test_trend_selects_another_survey_of_the_workspace(self) -> None:
        csat = Survey.objects.create(workspace=self.workspace, name="CSAT", kind=Kind.CSAT)
        Response.objects.create(workspace=self.workspace, survey=csat, score=4, channel=Channel.API)
        response = self.d_get("survey_responses", {"trend": csat.pk})
        [item] = response.json()
        self.assertEqual((item["survey_type"], item["score"]), ("csat", 4))
        self.assertDelightedError(self.d_get("survey_responses", {"trend": "nope"}), 422, "trend")

    def test_charlie_sees_nothing_of_acme(self) -> None:
        self.assertEqual(self.d_get("survey_responses", token=self.charlies_token).json(), [])
        # Acme's survey id as a trend is refused exactly like an unknown id.
        response = self.d_get(
            "survey_responses", {"trend": self.survey.pk}, token=self.charlies_token
        )
        self.assertDelightedError(response, 422, "trend")
        response = self.d_get(f"survey_responses/{self.first.pk}.json", token=self.charlies_token)
        self.assertDelightedError(response, 404)


class RetrieveAndUpdateTests(DelightedTestCase):
    def test_retrieve(self) -> None:
        contact = self.make_contact("ann@example.org")
        answer = self.make_response(contact, 7, comment="OK", properties={"plan": "pro"})
        Response.objects.filter(pk=answer.pk).update(tags=["billing"])
        response = self.d_get(f"survey_responses/{answer.pk}")
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual(body["id"], str(answer.pk))
        self.assertEqual(body["comment"], "OK")
        self.assertEqual(body["person_properties"], {"plan": "pro"})
        self.assertEqual(body["tags"], ["billing"])
        expanded = self.d_get(f"survey_responses/{answer.pk}", {"expand[]": "person"}).json()
        self.assertEqual(expanded["person"]["email"], "ann@example.org")

    def test_update_changes_score_comment_properties_and_person(self) -> None:
        ann = self.make_contact("ann@example.org")
        bob = self.make_contact("bob@example.org")
        answer = self.make_response(ann, 4, properties={"plan": "pro"})
        response = self.d_send(
            "put",
            f"survey_responses/{answer.pk}.json",
            {
                "score": 10,
                "comment": "Fixed now",
                "person_properties": {"segment": "Online"},
                "person": str(bob.pk),
            },
        )
        self.assertEqual(response.status_code, 200, response.content)
        answer.refresh_from_db()
        self.assertEqual((answer.score, answer.comment, answer.contact), (10, "Fixed now", bob))
        self.assertEqual(answer.properties, {"plan": "pro", "segment": "Online"})
        self.assertEqual(response.json()["score"], 10)

    def test_sending_back_an_expanded_answer_changes_nothing(self) -> None:
        contact = self.make_contact("ann@example.org")
        answer = self.make_response(contact, 9, comment="Nice")
        body = self.d_get(f"survey_responses/{answer.pk}", {"expand[]": "person"}).json()
        before = Response.objects.get(pk=answer.pk).updated_at
        response = self.d_send("put", f"survey_responses/{answer.pk}", body)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(Response.objects.get(pk=answer.pk).updated_at, before)

    def test_update_errors(self) -> None:
        answer = self.make_response(self.make_contact("ann@example.org"), 9)
        path = f"survey_responses/{answer.pk}"
        self.assertDelightedError(self.d_send("put", path, {"score": 12}), 422, "score")
        self.assertDelightedError(self.d_send("put", path, {"person": "0"}), 422, "person")
        self.assertDelightedError(
            self.d_send("put", path, {"score": 1}, token=self.read_token), 403
        )
        self.assertDelightedError(
            self.d_send("put", path, {"score": 1}, token=self.charlies_token), 404
        )
        self.assertEqual(Response.objects.get(pk=answer.pk).score, 9)


class MetricsTests(DelightedTestCase):
    def test_it_counts_groups_and_rounds_like_delighted(self) -> None:
        now = timezone.now()
        for score in (10, 9, 9, 8, 7, 6, 0):
            self.make_response(None, score, created_at=now - timedelta(days=1))
        self.make_response(None, 10, created_at=now - timedelta(days=45))  # outside 30 days
        response = self.d_get("metrics.json")
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(
            response.json(),
            {
                "nps": 14,  # (3 - 2) / 7 = 14.3
                "promoter_count": 3,
                "promoter_percent": 43,
                "passive_count": 2,
                "passive_percent": 29,
                "detractor_count": 2,
                "detractor_percent": 29,
                "response_count": 7,
            },
        )
        since = int((now - timedelta(days=60)).timestamp())
        self.assertEqual(self.d_get("metrics", {"since": since}).json()["response_count"], 8)
        until = int((now - timedelta(days=2)).timestamp())
        self.assertEqual(
            self.d_get("metrics", {"since": since, "until": until}).json()["promoter_count"], 1
        )

    def test_trend_and_an_empty_workspace(self) -> None:
        other = Survey.objects.create(workspace=self.workspace, name="Support")
        Response.objects.create(
            workspace=self.workspace, survey=other, score=0, channel=Channel.API
        )
        self.make_response(None, 10)
        self.assertEqual(self.d_get("metrics", {"trend": other.pk}).json()["nps"], -100)
        self.assertEqual(self.d_get("metrics").json()["nps"], 100)
        empty = self.d_get("metrics", token=self.charlies_token).json()
        self.assertEqual(empty["response_count"], 0)
        self.assertEqual(empty["nps"], 0)

    def test_metrics_cost_a_fixed_number_of_queries(self) -> None:
        for score in range(11):
            self.make_response(None, score)
        with self.assertNumQueries(5):  # key, last-used, settings, fallback survey, histogram
            self.d_get("metrics")


class UnknownContactsTests(DelightedTestCase):
    def test_anonymous_answers_have_no_person(self) -> None:
        self.make_response(None, 5)
        [item] = self.d_get("survey_responses", {"expand[]": "person"}).json()
        self.assertIsNone(item["person"])
        self.assertEqual(Contact.objects.count(), 0)
