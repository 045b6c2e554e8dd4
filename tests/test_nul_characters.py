"""A NUL character in any parameter is a clear error and writes nothing (kaiku.lib.nul).

The API answers 422 `invalid` naming the field (as for any invalid value), pages 400.

PostgreSQL cannot store U+0000 in text; before this check a query parameter with
one gave a 500 on /api/v1/cases (found by schemathesis). Runs on both engines.
"""

from __future__ import annotations

from kaiku.responses.models import Response
from tests.test_api_base import ApiTestCase


class NulCharacterTests(ApiTestCase):
    def test_api_query_parameters(self) -> None:
        for path in ("/api/v1/cases", "/api/v1/responses", "/api/v1/contacts"):
            with self.subTest(path=path):
                response = self.client.get(
                    f"{path}?limit=10&status=open%00", headers=self._auth(self.read_token)
                )
                body = self.assertApiError(response, 422, "invalid", "status")
                assert "NUL" in body["message"]

    def test_api_json_bodies_write_nothing(self) -> None:
        answer = {"survey": self.survey.pk, "score": 9, "comment": "fine\u0000"}
        self.assertApiError(self.api_post("/responses", answer), 422, "invalid", "comment")
        nested = {"survey": self.survey.pk, "score": 9, "properties": {"plan": ["a", "b\u0000"]}}
        self.assertApiError(
            self.api_post("/responses", nested), 422, "invalid", "properties.plan.1"
        )
        assert not Response.objects.exists()

    def test_an_escaped_backslash_is_not_a_nul(self) -> None:
        answer = {"survey": self.survey.pk, "score": 9, "comment": "path \\u0000 literal"}
        response = self.api_post("/responses", answer)
        assert response.status_code == 201, response.content
        assert Response.objects.get().comment == "path \\u0000 literal"

    def test_pages_and_forms(self) -> None:
        self.login_as(self.alice)
        page = self.client.get("/w/acme/responses/?q=x%00")
        assert page.status_code == 400
        assert b"NUL" in page.content
        posted = self.client.post(
            f"/s/{self.survey.public_id}/", "score=9&comment=a%00b", content_type=FORM
        )
        assert posted.status_code == 400
        assert not Response.objects.exists()

    def test_a_nul_in_the_path_is_refused_before_any_lookup(self) -> None:
        for path in ("/s/ab%00cd/", "/r/ab%00cd/", "/k/ab%00cd/", "/w/ab%00cd/eligibility"):
            with self.subTest(path=path), self.assertNumQueries(0):
                assert self.client.get(path).status_code == 400
        response = self.client.get("/api/v1/surveys/ab%00", headers=self._auth(self.read_token))
        self.assertApiError(response, 422, "invalid", "path")

    def test_the_refusal_speaks_the_users_language(self) -> None:
        page = self.client.get("/accounts/login/?next=%00", headers={"accept-language": "fi"})
        assert page.status_code == 400
        assert "NUL-merkki" in page.content.decode()

    def test_ordinary_requests_pass(self) -> None:
        response = self.api_get("/cases", status="open")
        assert response.status_code == 200, response.content
        posted = self.client.post(
            f"/s/{self.survey.public_id}/", "score=9&source=100%25", content_type=FORM
        )
        assert posted.status_code == 303
        assert Response.objects.get().score == 9


FORM = "application/x-www-form-urlencoded"
