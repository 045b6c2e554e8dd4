"""The API's own error messages in the client's language (Accept-Language: en, fi, et).

Validation messages were translated already; these are the messages the API raises itself
(an unknown key, another workspace's survey, a rate limit, an unknown route, a method not
allowed). Only `message` changes with the language; `code` and `field` stay the same, so
clients that branch on them are not affected.
"""

from __future__ import annotations

from typing import Any

from django.test import override_settings

from kaiku.lib import ratelimit
from tests.test_api_base import ApiTestCase


class ApiErrorLanguageTests(ApiTestCase):
    def answer(self, language: str, **overrides: Any) -> Any:
        body = {"survey": self.survey.pk, "score": 9, **overrides}
        headers = {"accept-language": language}
        return self.api_post(
            "/responses", body, token=overrides.pop("token", None), headers=headers
        )

    def message(self, response: Any, status: int, code: str, field: str | None = None) -> str:
        return str(self.assertApiError(response, status, code, field)["message"])

    def test_an_unknown_key_in_each_language(self) -> None:
        expected = {
            "en": "Unknown API key.",
            "fi": "Tuntematon API-avain.",
            "et": "Tundmatu API-võti.",
            "fi-FI,fi;q=0.9,en;q=0.5": "Tuntematon API-avain.",
            "de": "Unknown API key.",  # not a Kaiku language: English
        }
        token = "kaiku_" + "x" * 43
        for language, text in expected.items():
            response = self.client.post(
                "/api/v1/responses",
                {"survey": self.survey.pk, "score": 9},
                content_type="application/json",
                headers={"authorization": f"Bearer {token}", "accept-language": language},
            )
            assert self.message(response, 401, "unauthorized") == text, language

    def test_another_workspaces_survey_is_refused_in_the_clients_language(self) -> None:
        charlies = self.charlies_workspace.surveys.create(name="Globex NPS")
        for language, text in (("en", "No such survey."), ("et", "Sellist küsitlust pole.")):
            response = self.answer(language, survey=charlies.pk)
            assert self.message(response, 404, "not_found", "survey") == text
        assert not charlies.responses.exists()

    @override_settings(API_RATE_LIMIT_PER_MINUTE=1)
    def test_a_rate_limit_says_how_long_to_wait_in_finnish(self) -> None:
        ratelimit.reset("api-key", self.write_key.key_hash)
        assert self.answer("fi").status_code == 201
        refused = self.answer("fi")
        text = self.message(refused, 429, "rate_limited")
        seconds = refused["Retry-After"]
        assert text == f"Liikaa pyyntöjä tällä API-avaimella; yritä uudelleen {seconds} s kuluttua."

    def test_an_unknown_route_and_a_wrong_method_in_estonian(self) -> None:
        headers = {**self._auth(self.read_token), "accept-language": "et"}
        unknown = self.client.get("/api/v1/nowhere", headers=headers)
        assert self.message(unknown, 404, "not_found") == "Sellist API marsruuti pole."
        wrong = self.client.delete("/api/v1/responses", headers=headers)
        assert (
            self.message(wrong, 405, "method_not_allowed") == "Meetod DELETE ei ole siin lubatud."
        )
