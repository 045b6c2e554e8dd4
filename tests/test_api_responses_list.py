"""`GET /api/v1/responses` (filters, cursor pages) and `PATCH /api/v1/responses/{id}`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from django.test import override_settings
from django.utils import timezone

from kaiku.contacts.models import Contact
from kaiku.responses.actions import record_response
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey
from kaiku.webhooks.actions import create_endpoint
from kaiku.webhooks.models import WebhookEvent
from tests.smtp import IMMEDIATE_TASKS
from tests.test_api_base import ApiTestCase


class ResponsesListTestCase(ApiTestCase):
    def answer(self, score: int, survey: Survey | None = None, **kwargs: Any) -> Response:
        kwargs.setdefault("channel", "api")
        return record_response(survey=survey or self.survey, score=score, **kwargs).response

    def ids(self, path: str, **params: Any) -> list[int]:
        response = self.client.get(f"/api/v1{path}", params, headers=self._auth(self.read_token))
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["data"]]

    def api_patch(self, path: str, body: Any, token: str | None = None) -> Any:
        return self.client.patch(
            f"/api/v1{path}",
            body,
            content_type="application/json",
            headers=self._auth(token or self.write_token),
        )


class ListResponsesTest(ResponsesListTestCase):
    def test_it_lists_oldest_first_with_tags_and_notes(self) -> None:
        first, second = self.answer(9), self.answer(3)
        record_response(
            survey=Survey.objects.create(workspace=self.charlies_workspace, name="Globex"),
            score=5,
            channel="api",
        )
        body = self.api_get("/responses").json()
        self.assertEqual([r["id"] for r in body["data"]], [first.pk, second.pk])
        self.assertEqual((body["data"][0]["tags"], body["data"][0]["notes"]), ([], ""))

    def test_it_filters_by_survey_time_channel_and_group(self) -> None:
        csat = Survey.objects.create(workspace=self.workspace, name="Support", kind="csat")
        now = timezone.now()
        with time_machine.travel(now - timedelta(days=10)):
            old = self.answer(10)
        promoter, passive, detractor = self.answer(9), self.answer(7), self.answer(6)
        happy, neutral, unhappy = (
            self.answer(5, csat, channel="link"),
            self.answer(3, csat, channel="link"),
            self.answer(2, csat, channel="link"),
        )
        self.assertEqual(self.ids("/responses", survey=csat.pk), [happy.pk, neutral.pk, unhappy.pk])
        self.assertEqual(
            self.ids("/responses", until=(now - timedelta(days=1)).isoformat()), [old.pk]
        )
        since = (now - timedelta(days=1)).isoformat()
        self.assertNotIn(old.pk, self.ids("/responses", since=since))
        self.assertEqual(self.ids("/responses", channel="link"), [happy.pk, neutral.pk, unhappy.pk])
        self.assertEqual(self.ids("/responses", group="promoter"), [old.pk, promoter.pk, happy.pk])
        self.assertEqual(self.ids("/responses", group="passive"), [passive.pk, neutral.pk])
        self.assertEqual(self.ids("/responses", group="detractor"), [detractor.pk, unhappy.pk])

    def test_it_filters_by_answer_properties(self) -> None:
        pro = self.answer(9, properties={"plan": "pro", "seats": 12})
        self.answer(9, properties={"plan": "free"})
        self.assertEqual(self.ids("/responses?property[plan]=PRO"), [pro.pk])
        self.assertEqual(self.ids("/responses?property[seats]=12"), [pro.pk])

    def test_updated_since_orders_by_the_change_so_a_sync_sees_edits(self) -> None:
        start = timezone.now()
        with time_machine.travel(start - timedelta(hours=2)):
            edited = self.answer(5)
            untouched = self.answer(8)
        fresh = self.answer(9)
        self.api_patch(f"/responses/{edited.pk}", {"notes": "Called back"})
        since = (start - timedelta(minutes=1)).isoformat()
        self.assertEqual(self.ids("/responses", updated_since=since), [fresh.pk, edited.pk])
        self.assertNotIn(untouched.pk, self.ids("/responses", updated_since=since))

    def test_cursor_pages_are_stable_under_inserts(self) -> None:
        made = [self.answer(score).pk for score in (1, 2, 3, 4, 5)]
        page1 = self.api_get("/responses", limit=2).json()
        late = self.answer(10)  # arrives while the client pages
        page2 = self.api_get("/responses", limit=2, cursor=page1["next_cursor"]).json()
        page3 = self.api_get("/responses", limit=2, cursor=page2["next_cursor"]).json()
        seen = [r["id"] for p in (page1, page2, page3) for r in p["data"]]
        self.assertEqual(seen, [*made, late.pk])
        self.assertIsNone(page3["next_cursor"])

    def test_bad_filters_are_422_and_another_workspaces_survey_is_404(self) -> None:
        globex = Survey.objects.create(workspace=self.charlies_workspace, name="Globex")
        self.assertApiError(self.api_get("/responses", group="fans"), 422, "invalid", "group")
        self.assertApiError(self.api_get("/responses", since="yesterday"), 422, "invalid", "since")
        self.assertApiError(
            self.api_get("/responses", since="2026-01-01T10:00:00"), 422, "invalid", "since"
        )
        self.assertApiError(
            self.api_get("/responses", survey=globex.pk), 404, "not_found", "survey"
        )

    def test_a_page_costs_two_queries(self) -> None:
        contact = Contact.objects.create(workspace=self.workspace, email="d@example.org")
        for score in (1, 5, 9):
            self.answer(score, contact=contact)
        self.api_get("/responses")  # notes the key's last use (a write, once a minute)
        with self.assertNumQueries(2):  # the key, the page with its contacts
            self.assertEqual(len(self.api_get("/responses").json()["data"]), 3)

    def test_charlie_sees_none_of_acmes_answers(self) -> None:
        self.answer(9)
        self.assertEqual(self.api_get("/responses", token=self.charlies_token).json()["data"], [])


class PatchResponseTest(ResponsesListTestCase):
    def test_it_sets_tags_and_notes(self) -> None:
        response = self.answer(4, comment="Slow delivery")
        patched = self.api_patch(
            f"/responses/{response.pk}",
            {"tags": [" delivery ", "Follow up", "delivery"], "notes": "Called on Monday."},
        )
        self.assertEqual(patched.status_code, 200, patched.content)
        body = patched.json()
        self.assertEqual(body["tags"], ["delivery", "Follow up"])
        self.assertEqual(body["notes"], "Called on Monday.")
        self.assertEqual(body["comment"], "Slow delivery")
        response.refresh_from_db()
        self.assertEqual((response.tags, response.score), (["delivery", "Follow up"], 4))

    def test_it_edits_the_comment(self) -> None:
        response = self.answer(4, comment="Slwo")
        body = self.api_patch(f"/responses/{response.pk}", {"comment": "Slow"}).json()
        self.assertEqual(body["comment"], "Slow")

    def test_it_validates_the_patch(self) -> None:
        response = self.answer(4)
        path = f"/responses/{response.pk}"
        self.assertApiError(self.api_patch(path, {}), 422, "invalid")
        self.assertApiError(self.api_patch(path, {"tags": "vip"}), 422, "invalid", "tags")
        self.assertApiError(self.api_patch(path, {"tags": [""]}), 422, "invalid", "tags")
        self.assertApiError(self.api_patch(path, {"tags": ["x" * 51]}), 422, "invalid", "tags")
        self.assertApiError(
            self.api_patch(path, {"tags": [str(i) for i in range(21)]}), 422, "invalid", "tags"
        )
        self.assertApiError(self.api_patch(path, {"tags": [1]}), 422, "invalid", "tags.0")
        self.assertApiError(self.api_patch(path, {"notes": "x" * 5001}), 422, "invalid", "notes")
        self.assertApiError(self.api_patch(path, {"score": 10}), 422, "invalid")
        self.assertApiError(
            self.api_patch(path, {"notes": "hi"}, token=self.read_token), 403, "forbidden"
        )
        response.refresh_from_db()
        self.assertEqual((response.tags, response.notes), ([], ""))

    def test_charlie_gets_404(self) -> None:
        response = self.answer(4)
        patched = self.api_patch(
            f"/responses/{response.pk}", {"notes": "mine now"}, token=self.charlies_token
        )
        self.assertApiError(patched, 404, "not_found")
        response.refresh_from_db()
        self.assertEqual(response.notes, "")

    @override_settings(TASKS=IMMEDIATE_TASKS, WEBHOOKS_ALLOW_PRIVATE=True)
    def test_a_change_emits_response_updated_and_no_change_emits_nothing(self) -> None:
        create_endpoint(self.workspace, url="http://127.0.0.1:9/", events=["response.updated"])
        response = self.answer(4)
        with self.captureOnCommitCallbacks(execute=False):
            self.api_patch(f"/responses/{response.pk}", {"tags": ["vip"]})
            self.api_patch(f"/responses/{response.pk}", {"tags": ["vip"]})
        [event] = WebhookEvent.objects.all()
        self.assertEqual((event.type, event.payload["tags"]), ("response.updated", ["vip"]))
