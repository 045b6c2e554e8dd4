"""GET /api/v1/surveys and /surveys/{id}; the OpenAPI document and docs page."""

from __future__ import annotations

from typing import Any

import pytest

from kaiku.surveys.models import Survey
from tests.test_api_base import ApiTestCase


class SurveyListTests(ApiTestCase):
    def test_it_lists_only_the_keys_workspace(self) -> None:
        Survey.objects.create(workspace=self.charlies_workspace, name="Globex NPS")
        body = self.api_get("/surveys").json()
        assert [s["name"] for s in body["data"]] == ["Relationship NPS"]
        assert body["next_cursor"] is None
        charlies = self.api_get("/surveys", self.charlies_token).json()
        assert [s["name"] for s in charlies["data"]] == ["Globex NPS"]

    def test_it_serialises_a_survey(self) -> None:
        item = self.api_get("/surveys").json()["data"][0]
        assert item == {
            "id": self.survey.pk,
            "name": "Relationship NPS",
            "kind": "nps",
            "scale_min": 0,
            "scale_max": 10,
            "default_language": "en",
            "is_active": True,
            "public_id": self.survey.public_id,
            "created_at": item["created_at"],
        }

    def test_it_pages_with_a_cursor(self) -> None:
        for i in range(6):
            Survey.objects.create(workspace=self.workspace, name=f"Survey {i}", kind="csat")
        Survey.objects.create(workspace=self.charlies_workspace, name="Globex NPS")
        seen: list[int] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
            body = self.api_get("/surveys", **params).json()
            seen += [s["id"] for s in body["data"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
        expected = list(
            Survey.objects.filter(workspace=self.workspace)
            .order_by("id")
            .values_list("id", flat=True)
        )
        assert seen == expected
        assert pages == 3

    def test_a_new_survey_does_not_shift_pages(self) -> None:
        for i in range(3):
            Survey.objects.create(workspace=self.workspace, name=f"Survey {i}")
        first = self.api_get("/surveys", limit=2).json()
        Survey.objects.create(workspace=self.workspace, name="Created while paging")
        second = self.api_get("/surveys", limit=2, cursor=first["next_cursor"]).json()
        ids = [s["id"] for s in first["data"] + second["data"]]
        assert len(ids) == len(set(ids))

    def test_the_query_count_does_not_grow_with_the_page(self) -> None:
        for i in range(30):
            Survey.objects.create(workspace=self.workspace, name=f"Survey {i}")
        self.api_get("/surveys")  # writes last_used_at once
        with self.assertNumQueries(2):  # the key, the page
            response = self.api_get("/surveys", limit=25)
        assert len(response.json()["data"]) == 25


class SurveyDetailTests(ApiTestCase):
    def test_it_returns_a_survey(self) -> None:
        response = self.api_get(f"/surveys/{self.survey.pk}")
        assert response.status_code == 200
        assert response.json()["id"] == self.survey.pk

    def test_another_workspaces_key_gets_404(self) -> None:
        response = self.api_get(f"/surveys/{self.survey.pk}", self.charlies_token)
        self.assertApiError(response, 404, "not_found")
        assert b"Relationship" not in response.content

    def test_an_unknown_id_is_the_same_404(self) -> None:
        mine = self.api_get(f"/surveys/{self.survey.pk}", self.charlies_token)
        unknown = self.api_get("/surveys/987654", self.charlies_token)
        assert mine.content == unknown.content


class OpenApiTests(ApiTestCase):
    def test_the_openapi_document_lists_the_routes(self) -> None:
        response = self.client.get("/api/v1/openapi.json")
        assert response.status_code == 200
        document = response.json()
        assert document["openapi"].startswith("3.")
        assert document["info"]["title"] == "Kaiku API"
        paths = document["paths"]
        assert "get" in paths["/api/v1/surveys"]
        assert "get" in paths["/api/v1/surveys/{survey_id}"]
        assert "post" in paths["/api/v1/responses"]
        assert "get" in paths["/api/v1/responses/{response_id}"]
        schemes = document["components"]["securitySchemes"]
        assert schemes["ApiKeyAuth"] == {"type": "http", "scheme": "bearer"}
        error = document["components"]["schemas"]["ErrorOut"]
        assert error["properties"]["error"]["$ref"] == "#/components/schemas/ErrorDetail"

    def test_the_docs_page_loads_nothing_from_a_cdn(self) -> None:
        response = self.client.get("/api/v1/docs")
        assert response.status_code == 200
        html = response.content.decode()
        assert "/static/ninja/swagger-ui-bundle.js" in html
        assert "cdn" not in html.lower()
        assert 'src="http' not in html
        assert 'href="http' not in html
        assert '"validatorUrl": null' in html


@pytest.mark.browser
def test_the_docs_page_renders_from_our_own_server(browser: Any, live_server: Any) -> None:
    """Swagger UI shows the routes and the page requests nothing from another host."""
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(f"{live_server.url}/api/v1/docs")
        page.wait_for_selector(".opblock", timeout=15_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
    finally:
        page.close()
    assert "/api/v1/surveys" in paths
    assert "/api/v1/responses" in paths
    assert [url for url in requested if not url.startswith(live_server.url)] == []
