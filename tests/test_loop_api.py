"""GET /api/v1/cases, GET and PATCH /api/v1/cases/{id}."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import time_machine
from django.utils import timezone

from kaiku.accounts.models import Membership, Role, User
from kaiku.loop import actions
from kaiku.loop.categories import categories
from kaiku.loop.models import Case
from kaiku.surveys.models import Survey
from tests.base import PASSWORD
from tests.test_api_base import ApiTestCase
from tests.test_loop_base import LoopTestCase

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse


class CasesApiTest(ApiTestCase, LoopTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.first = self.case_for(self.answer(2, "Slow", contact=self.ann))
        self.other_survey = Survey.objects.create(workspace=self.workspace, name="Support")
        self.second = self.case_for(self.answer(5, survey=self.other_survey))
        actions.assign(self.second, self.bob, actor=self.alice)
        self.service = categories(self.workspace).get(key="service")

    def api_patch(self, path: str, body: Any, token: str | None = None) -> TestResponse:
        return self.client.patch(
            f"/api/v1{path}",
            body,
            content_type="application/json",
            headers=self._auth(token or self.write_token),
        )

    def ids(self, **params: Any) -> list[int]:
        response = self.api_get("/cases", **params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["data"]]

    def test_the_list_is_newest_first_with_filters_and_pages(self) -> None:
        assert self.ids() == [self.second.pk, self.first.pk]
        assert self.ids(survey=self.other_survey.pk) == [self.second.pk]
        assert self.ids(assignee="BOB@example.org") == [self.second.pk]
        assert self.ids(assignee="none") == [self.first.pk]
        assert self.ids(status="resolved") == []
        assert self.ids(status="active") == [self.second.pk, self.first.pk]
        with time_machine.travel(timezone.now() + timedelta(days=3)):
            assert self.ids(overdue="true") == [self.second.pk, self.first.pk]
        page = self.api_get("/cases", limit=1).json()
        assert len(page["data"]) == 1
        assert page["next_cursor"]
        rest = self.api_get("/cases", limit=1, cursor=page["next_cursor"]).json()
        assert [r["id"] for r in rest["data"]] == [self.first.pk]
        assert rest["next_cursor"] is None
        bad = self.api_get("/cases", status="bogus")
        assert bad.status_code == 422

    def test_one_case_in_the_documented_shape(self) -> None:
        data = self.api_get(f"/cases/{self.first.pk}").json()
        assert data["id"] == self.first.pk
        assert data["survey"] == self.survey.pk
        assert data["response"] == self.first.response_id
        assert (data["status"], data["reason"], data["score"]) == ("open", "detractor", 2)
        assert data["contact"]["email"] == "ann@example.com"
        assert data["assignee"] is None
        assert data["category"] is None
        assert data["overdue"] is False
        assert data["due_at"].endswith("Z")
        assert data["recovered"] is None
        second = self.api_get(f"/cases/{self.second.pk}").json()
        assert second["assignee"] == {"id": self.bob.pk, "email": "bob@example.org", "name": "Bob"}

    def test_patch_assigns_moves_and_resolves_through_the_actions(self) -> None:
        path = f"/cases/{self.first.pk}"
        assigned = self.api_patch(path, {"assignee": "dana@example.org", "status": "in_progress"})
        assert assigned.status_code == 200, assigned.content
        assert assigned.json()["assignee"]["email"] == "dana@example.org"
        assert assigned.json()["status"] == "in_progress"
        resolved = self.api_patch(path, {"status": "resolved", "category": self.service.pk})
        assert resolved.json()["status"] == "resolved"
        assert resolved.json()["category"]["key"] == "service"
        assert resolved.json()["category"]["name"] == "Service or support"
        reopened = self.api_patch(path, {"status": "open"})
        assert reopened.json()["status"] == "open"
        assert reopened.json()["category"] is None
        unassigned = self.api_patch(path, {"assignee": None})
        assert unassigned.json()["assignee"] is None
        events = Case.objects.get(pk=self.first.pk).events.exclude(kind="opened")
        assert {(e.actor, e.via) for e in events} == {(None, "api")}  # recorded as the API's

    def test_patch_refuses_invalid_moves_and_unknown_references(self) -> None:
        path = f"/cases/{self.first.pk}"
        no_category = self.api_patch(path, {"status": "resolved"})
        self.assertApiError(no_category, 409, "conflict", "status")
        self.api_patch(path, {"status": "closed"})
        self.assertApiError(self.api_patch(path, {"status": "waiting"}), 409, "conflict", "status")
        stranger = self.api_patch(path, {"assignee": "charlie@example.org"})
        self.assertApiError(stranger, 422, "invalid", "assignee")
        vic = self.api_patch(path, {"assignee": "vic@example.org"})  # a viewer
        self.assertApiError(vic, 422, "invalid", "assignee")
        theirs = categories(self.charlies_workspace).first()
        assert theirs is not None
        wrong = self.api_patch(path, {"category": theirs.pk})
        self.assertApiError(wrong, 422, "invalid", "category")
        self.assertApiError(self.api_patch(path, {"status": "later"}), 422, "invalid", "status")
        assert Case.objects.get(pk=self.first.pk).status == "closed"

    def test_the_categories_to_resolve_with(self) -> None:
        data = self.api_get("/cases/categories").json()["data"]
        assert data[1] == {"id": self.service.pk, "key": "service", "name": "Service or support"}
        theirs = self.api_get("/cases/categories", self.charlies_token).json()["data"]
        assert self.service.pk not in {row["id"] for row in theirs}

    def test_a_read_key_cannot_patch(self) -> None:
        response = self.api_patch(f"/cases/{self.first.pk}", {"status": "closed"}, self.read_token)
        self.assertApiError(response, 403, "forbidden")

    def test_another_workspaces_key_sees_nothing(self) -> None:
        eve = User.objects.create_user("eve@example.org", PASSWORD)
        Membership.objects.create(workspace=self.charlies_workspace, user=eve, role=Role.AGENT)
        token = self.charlies_token
        assert self.api_get("/cases", token).json()["data"] == []
        self.assertApiError(self.api_get(f"/cases/{self.first.pk}", token), 404, "not_found")
        missing = self.api_patch(f"/cases/{self.first.pk}", {"status": "closed"}, token)
        self.assertApiError(missing, 404, "not_found")
        assert Case.objects.get(pk=self.first.pk).status == "open"

    def test_the_openapi_document_lists_the_routes(self) -> None:
        paths = self.client.get("/api/v1/openapi.json").json()["paths"]
        assert {"get"} <= set(paths["/api/v1/cases"])
        assert {"get", "patch"} <= set(paths["/api/v1/cases/{case_id}"])
        assert "get" in paths["/api/v1/cases/categories"]
