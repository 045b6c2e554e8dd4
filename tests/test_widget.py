"""The web widget's endpoints: script, eligibility, answers, identity and CORS."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import time_machine
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from kaiku.accounts.models import Workspace
from kaiku.contacts.models import Contact
from kaiku.responses import widget
from kaiku.responses.identity import sign_uid
from kaiku.responses.models import Response
from kaiku.responses.pages import contrast
from kaiku.responses.widget_views import ELIGIBILITY_LIMIT_FACTOR, SCRIPT_PATH
from kaiku.surveys.models import Invitation, InvitationStatus, Kind, Survey, SurveyText
from tests.base import BaseTestCase

if TYPE_CHECKING:  # the test client's response type exists only in django-stubs
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

ACME_SITE = "https://app.acme.example"
GLOBEX_SITE = "https://globex.example"
MAX_SCRIPT_GZIPPED = 15 * 1024


class WidgetTestCase(BaseTestCase):
    survey: Survey
    charlies_survey: Survey

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.survey.widget_origins = [ACME_SITE]
        cls.survey.save()
        cls.charlies_survey = Survey.objects.create(
            workspace=cls.charlies_workspace, name="Globex NPS", widget_origins=[GLOBEX_SITE]
        )

    def setUp(self) -> None:
        # Cookies would leak from test to test otherwise; each test starts clean.
        self.client = Client(enforce_csrf_checks=True)

    # --- helpers ---------------------------------------------------------------------

    def eligibility(
        self, survey: Survey | None = None, origin: str | None = ACME_SITE, **params: str
    ) -> TestResponse:
        survey = survey or self.survey
        url = reverse("widget:eligibility", args=[survey.public_id])
        headers = {"Origin": origin} if origin else {}
        return self.client.get(url, params, headers=headers)

    def post(
        self, body: Any, survey: Survey | None = None, origin: str | None = ACME_SITE
    ) -> TestResponse:
        survey = survey or self.survey
        url = reverse("widget:responses", args=[survey.public_id])
        raw = body if isinstance(body, bytes) else json.dumps(body)
        headers = {"Origin": origin} if origin else {}
        return self.client.post(url, raw, content_type="application/json", headers=headers)

    def hash_for(self, user_id: str, survey: Survey | None = None) -> str:
        return sign_uid((survey or self.survey).workspace, user_id)

    def contact(self, external_id: str = "u-42", **fields: Any) -> Contact:
        return Contact.objects.create(workspace=self.workspace, external_id=external_id, **fields)

    def past_response(self, contact: Contact, survey: Survey, days_ago: int) -> Response:
        return Response.objects.create(
            workspace=survey.workspace,
            survey=survey,
            contact=contact,
            score=survey.scale_max,
            channel="email",
            created_at=timezone.now() - timedelta(days=days_ago),
        )

    def assertAllowed(self, response: TestResponse, origin: str = ACME_SITE) -> None:
        assert response["Access-Control-Allow-Origin"] == origin
        assert "Origin" in response["Vary"]
        assert "Access-Control-Allow-Credentials" not in response

    def assertRefused(self, response: TestResponse) -> None:
        assert response.status_code == 403
        assert "Access-Control-Allow-Origin" not in response
        assert b"Acme" not in response.content

    def assertNoCookies(self, response: TestResponse) -> None:
        assert not response.cookies, "widget endpoints must set no cookies"
        assert "Set-Cookie" not in response


class ScriptTests(WidgetTestCase):
    url = "/widget/v1/kaiku.js"

    def test_the_script_is_at_most_15_kb_gzipped(self) -> None:
        size = len(gzip.compress(SCRIPT_PATH.read_bytes(), compresslevel=9))
        assert size <= MAX_SCRIPT_GZIPPED, f"{size} bytes gzipped"

    def test_it_serves_the_script_with_long_cache_headers_and_no_cookies(self) -> None:
        response = self.client.get(self.url)
        assert response.status_code == 200
        assert response["Content-Type"] == "text/javascript; charset=utf-8"
        assert "max-age=86400" in response["Cache-Control"]
        assert "public" in response["Cache-Control"]
        assert response["ETag"]
        assert response.content == SCRIPT_PATH.read_bytes()
        self.assertNoCookies(response)

    def test_it_answers_not_modified_to_a_known_etag(self) -> None:
        etag = self.client.get(self.url)["ETag"]
        response = self.client.get(self.url, headers={"If-None-Match": etag})
        assert response.status_code == 304

    def test_it_compresses_the_script_for_browsers_that_accept_gzip(self) -> None:
        response = self.client.get(self.url, headers={"Accept-Encoding": "gzip"})
        assert response["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.content) == SCRIPT_PATH.read_bytes()


class OriginTests(WidgetTestCase):
    def test_it_allows_a_configured_origin_exactly(self) -> None:
        response = self.eligibility()
        assert response.status_code == 200
        self.assertAllowed(response)
        self.assertNoCookies(response)

    def test_it_refuses_another_origin_without_cors_headers(self) -> None:
        self.assertRefused(self.eligibility(origin="https://evil.example"))
        self.assertRefused(self.eligibility(origin="http://app.acme.example"))  # scheme differs
        self.assertRefused(self.eligibility(origin="https://app.acme.example:8443"))

    def test_it_refuses_a_missing_or_null_origin(self) -> None:
        self.assertRefused(self.eligibility(origin=None))
        self.assertRefused(self.eligibility(origin="null"))

    def test_it_refuses_every_origin_when_none_is_configured(self) -> None:
        self.survey.widget_origins = []
        self.survey.save()
        self.assertRefused(self.eligibility())

    def test_it_refuses_charlies_survey_on_acmes_site(self) -> None:
        self.assertRefused(self.eligibility(self.charlies_survey, origin=ACME_SITE))
        self.assertRefused(self.post({"score": 9}, self.charlies_survey, origin=ACME_SITE))
        assert not Response.objects.exists()

    def test_it_answers_404_without_cors_headers_for_an_unknown_survey(self) -> None:
        url = reverse("widget:eligibility", args=["no-such-survey"])
        response = self.client.get(url, headers={"Origin": ACME_SITE})
        assert response.status_code == 404
        assert "Access-Control-Allow-Origin" not in response

    def test_it_answers_a_preflight_from_an_allowed_origin(self) -> None:
        url = reverse("widget:responses", args=[self.survey.public_id])
        response = self.client.options(
            url,
            headers={
                "Origin": ACME_SITE,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert response.status_code == 204
        self.assertAllowed(response)
        assert "POST" in response["Access-Control-Allow-Methods"]
        assert "Content-Type" in response["Access-Control-Allow-Headers"]
        assert int(response["Access-Control-Max-Age"]) > 0
        self.assertNoCookies(response)

    def test_it_refuses_a_preflight_from_another_origin(self) -> None:
        url = reverse("widget:responses", args=[self.survey.public_id])
        response = self.client.options(
            url, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
        self.assertRefused(response)

    def test_it_compares_origins_without_default_ports_or_case(self) -> None:
        normalise = widget.normalise_origin
        assert normalise("https://App.Example.com:443/") == "https://app.example.com"
        assert normalise("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
        assert normalise("http://[::1]:80") == "http://[::1]"
        for bad in ("null", "", "file:///x", "https://a.example/path", "https://u@a.example"):
            assert normalise(bad) is None, bad


class EligibilityTests(WidgetTestCase):
    def test_an_anonymous_visitor_is_eligible_and_gets_the_card(self) -> None:
        data = self.eligibility(lang="en").json()
        assert (data["eligible"], data["reason"]) == (True, "ok")
        assert not data["identified"]
        assert data["dismiss_days"] == widget.DEFAULT_DISMISS_DAYS
        assert data["recontact_days"] == widget.DEFAULT_RECONTACT_DAYS
        card = data["survey"]
        assert (card["kind"], card["scale_min"], card["scale_max"]) == ("nps", 0, 10)
        assert "recommend Acme" in card["question"]
        assert card["labels"] == {"low": "Not at all likely", "high": "Extremely likely"}
        assert len(card["score_labels"]) == 11
        assert card["score_labels"][0] == "0 on a scale of 0 to 10, Not at all likely"
        assert card["score_labels"][10] == "10 on a scale of 0 to 10, Extremely likely"
        assert card["score_labels"][5] == "5 on a scale of 0 to 10"
        assert set(card["ui"]) == {"dialog", "close", "send", "error"}

    def test_it_picks_the_follow_up_question_by_group(self) -> None:
        card = self.eligibility(lang="en").json()["survey"]
        assert card["follow_up"][6] == "What should we improve?"
        assert card["follow_up"][7] == "What would make it a 10?"
        assert card["follow_up"][9] == "What do you like most?"
        assert card["follow_up_by_group"]["middle"] == "What would make it a 10?"

    def test_it_uses_the_survey_s_own_wording(self) -> None:
        SurveyText.objects.create(survey=self.survey, language="en", question="Would you?")
        assert self.eligibility(lang="en").json()["survey"]["question"] == "Would you?"

    def test_it_speaks_the_page_s_language_when_the_workspace_offers_it(self) -> None:
        data = self.eligibility(lang="fi").json()
        assert data["language"] == "fi"
        assert "suosittelisit" in data["survey"]["question"]

    def test_it_falls_back_to_the_survey_s_language(self) -> None:
        assert self.eligibility(lang="de").json()["language"] == "en"
        self.workspace.languages = ["en", "et"]
        self.workspace.save()
        assert self.eligibility(lang="fi").json()["language"] == "en"

    def test_without_lang_it_uses_the_browser_s_language(self) -> None:
        url = reverse("widget:eligibility", args=[self.survey.public_id])
        headers = {"Origin": ACME_SITE, "Accept-Language": "et-EE,et;q=0.9,en;q=0.5"}
        assert self.client.get(url, headers=headers).json()["language"] == "et"

    def test_it_labels_the_ends_of_csat_and_ces_scales(self) -> None:
        csat = Survey.objects.create(
            workspace=self.workspace, name="CSAT", kind=Kind.CSAT, widget_origins=[ACME_SITE]
        )
        card = self.eligibility(csat).json()["survey"]
        assert (card["scale_min"], card["scale_max"]) == (1, 5)
        assert card["labels"]["high"] == "Very satisfied"
        assert card["follow_up"][0] == card["follow_up_by_group"]["low"]
        assert card["follow_up"][3] == card["follow_up_by_group"]["high"]

    def test_an_inactive_survey_is_not_shown(self) -> None:
        self.survey.is_active = False
        self.survey.save()
        data = self.eligibility().json()
        assert (data["eligible"], data["reason"], data["survey"]) == (False, "inactive", None)

    def test_a_verified_user_without_history_is_eligible(self) -> None:
        data = self.eligibility(user_id="u-42", user_hash=self.hash_for("u-42")).json()
        assert data["identified"]
        assert data["eligible"]
        assert not Contact.objects.exists(), "a GET must not create contacts"

    def test_a_user_who_answered_this_survey_recently_is_not_asked_again(self) -> None:
        self.past_response(self.contact(), self.survey, days_ago=29)
        data = self.eligibility(user_id="u-42", user_hash=self.hash_for("u-42")).json()
        assert (data["eligible"], data["reason"]) == (False, "answered_recently")

    def test_a_user_is_asked_again_after_the_recontact_window(self) -> None:
        self.past_response(self.contact(), self.survey, days_ago=31)
        data = self.eligibility(user_id="u-42", user_hash=self.hash_for("u-42")).json()
        assert (data["eligible"], data["reason"]) == (True, "ok")

    def test_a_user_who_answered_another_survey_recently_is_not_asked(self) -> None:
        other = Survey.objects.create(workspace=self.workspace, name="Support CSAT", kind="csat")
        self.past_response(self.contact(), other, days_ago=3)
        data = self.eligibility(user_id="u-42", user_hash=self.hash_for("u-42")).json()
        assert (data["eligible"], data["reason"]) == (False, "surveyed_recently")

    def test_a_user_invited_recently_is_not_asked(self) -> None:
        Invitation.objects.create(
            workspace=self.workspace,
            survey=self.survey,
            contact=self.contact(),
            status=InvitationStatus.SENT,
            sent_at=timezone.now() - timedelta(days=2),
        )
        data = self.eligibility(user_id="u-42", user_hash=self.hash_for("u-42")).json()
        assert (data["eligible"], data["reason"]) == (False, "invited_recently")

    def test_a_scheduled_invitation_does_not_count_as_asked(self) -> None:
        Invitation.objects.create(
            workspace=self.workspace, survey=self.survey, contact=self.contact()
        )
        data = self.eligibility(user_id="u-42", user_hash=self.hash_for("u-42")).json()
        assert data["eligible"]

    def test_a_recontact_setting_on_the_survey_or_workspace_wins_over_the_default(self) -> None:
        assert widget.recontact_days(self.survey) == widget.DEFAULT_RECONTACT_DAYS
        self.survey.workspace.recontact_days = 60
        assert widget.recontact_days(self.survey) == 60
        self.survey.recontact_days = 7
        assert widget.recontact_days(self.survey) == 7

    def test_an_unsubscribed_user_is_not_asked(self) -> None:
        self.contact(unsubscribed_at=timezone.now())
        data = self.eligibility(user_id="u-42", user_hash=self.hash_for("u-42")).json()
        assert (data["eligible"], data["reason"]) == (False, "unsubscribed")

    def test_an_unverified_claim_is_treated_as_an_anonymous_visitor(self) -> None:
        self.past_response(self.contact(), self.survey, days_ago=1)
        for claimed_hash in ("", "0" * 64, self.hash_for("u-43")):
            data = self.eligibility(user_id="u-42", user_hash=claimed_hash).json()
            assert not data["identified"], claimed_hash
            assert data["eligible"], "the claim must not reveal u-42's history"

    def test_a_hash_made_with_globex_s_secret_does_not_identify_on_acme_s_survey(self) -> None:
        self.contact(unsubscribed_at=timezone.now())
        globex_hash = self.hash_for("u-42", self.charlies_survey)
        data = self.eligibility(user_id="u-42", user_hash=globex_hash).json()
        assert not data["identified"]
        assert data["reason"] == "ok"

    def test_the_card_uses_the_brand_colour_with_readable_text_on_it(self) -> None:
        for brand, expected in (("#2454d6", "#ffffff"), ("#ffd400", "#111111")):
            self.workspace.brand_color = brand
            self.workspace.save()
            card = self.eligibility().json()["survey"]
            assert (card["brand_color"], card["text_color"]) == (brand, expected)
        for brand in ("#777777", "#00ff00", "#ffffff", "red"):
            self.workspace.brand_color = brand
            self.workspace.save()
            card = self.eligibility().json()["survey"]
            assert contrast(card["brand_color"], card["text_color"]) >= 4.5, brand

    def test_it_is_never_cached_by_the_browser_or_a_proxy(self) -> None:
        assert self.eligibility()["Cache-Control"] == "no-store"


class AnswerTests(WidgetTestCase):
    def test_it_records_an_anonymous_answer_and_returns_an_edit_token(self) -> None:
        response = self.post({"score": 9, "language": "fi"})
        assert response.status_code == 201
        self.assertAllowed(response)
        self.assertNoCookies(response)
        data = response.json()
        answer = Response.objects.get()
        assert data == {"id": answer.pk, "edit_token": answer.edit_token}
        assert answer.edit_token
        assert (answer.score, answer.channel, answer.language) == (9, "widget", "fi")
        assert answer.contact is None
        assert answer.workspace == self.workspace

    def test_the_follow_up_comment_updates_the_same_answer(self) -> None:
        token = self.post({"score": 4}).json()["edit_token"]
        response = self.post({"score": 4, "comment": "Too slow", "edit_token": token})
        assert response.status_code == 200
        answer = Response.objects.get()
        assert (answer.score, answer.comment) == (4, "Too slow")

    def test_a_verified_user_becomes_the_contact(self) -> None:
        body = {"score": 10, "user_id": "u-42", "user_hash": self.hash_for("u-42")}
        assert self.post(body).status_code == 201
        contact = Contact.objects.get(workspace=self.workspace, external_id="u-42")
        assert Response.objects.get().contact == contact

    def test_a_verified_user_is_matched_to_their_existing_contact(self) -> None:
        existing = self.contact(email="pat@example.org", properties={"segment": "smb"})
        body = {"score": 10, "user_id": "u-42", "user_hash": self.hash_for("u-42").upper()}
        self.post(body)
        assert Contact.objects.count() == 1
        answer = Response.objects.get()
        assert answer.contact == existing
        assert answer.properties == {"segment": "smb"}

    def test_a_claim_without_a_valid_hash_is_stored_as_anonymous(self) -> None:
        victim = self.contact()
        for body in (
            {"score": 0, "user_id": "u-42"},
            {"score": 0, "user_id": "u-42", "user_hash": ""},
            {"score": 0, "user_id": "u-42", "user_hash": "f" * 64},
            {"score": 0, "user_id": "u-42", "user_hash": self.hash_for("u-1")},
        ):
            assert self.post(body).status_code == 201, body
        assert not Response.objects.filter(contact__isnull=False).exists()
        assert not victim.responses.exists()
        assert Contact.objects.count() == 1

    def test_a_globex_hash_does_not_identify_on_acme_s_survey(self) -> None:
        globex_hash = self.hash_for("u-42", self.charlies_survey)
        self.post({"score": 3, "user_id": "u-42", "user_hash": globex_hash})
        assert Response.objects.get().contact is None
        assert not Contact.objects.exists()

    def test_properties_are_stored_on_the_answer_not_the_contact(self) -> None:
        body = {
            "score": 8,
            "user_id": "u-42",
            "user_hash": self.hash_for("u-42"),
            "properties": {"plan": "pro", "seats": 12},
        }
        self.post(body)
        answer = Response.objects.get()
        assert answer.properties == {"plan": "pro", "seats": 12}
        assert Contact.objects.get().properties == {}

    def test_it_rejects_properties_beyond_the_bounds(self) -> None:
        too_many = {f"p{i}": i for i in range(60)}
        for properties in (too_many, {"plan": {"nested": True}}, {"plan": "x" * 600}):
            response = self.post({"score": 8, "properties": properties})
            assert response.status_code == 400
            self.assertAllowed(response)  # the script may read why
            assert response.json()["error"]["field"] == "properties"
        assert not Response.objects.exists()

    def test_it_rejects_bad_scores_with_the_field_named(self) -> None:
        for body in ({"score": 11}, {"score": -1}, {"score": "9"}, {"score": 9.5}, {}):
            response = self.post(body)
            assert response.status_code == 400, body
            error = response.json()["error"]
            assert (error["code"], error["field"]) == ("invalid", "score"), body
            assert error["message"]
        assert not Response.objects.exists()

    def test_it_rejects_a_body_that_is_not_a_json_object(self) -> None:
        for raw in (b"not json", b"[9]", b"9", b"", b"\xff\xfe"):
            response = self.post(raw)
            assert response.status_code == 400, raw
            assert response.json()["error"]["code"] == "invalid"

    def test_it_rejects_a_too_long_comment_or_a_huge_body(self) -> None:
        response = self.post({"score": 5, "comment": "x" * 5001})
        assert response.json()["error"]["field"] == "comment"
        huge = self.post({"score": 5, "comment": "x" * 70_000})
        assert huge.status_code == 413
        assert not Response.objects.exists()

    def test_it_rejects_an_unknown_edit_token_or_one_of_another_survey(self) -> None:
        other = Survey.objects.create(
            workspace=self.workspace, name="Other", widget_origins=[ACME_SITE]
        )
        token = self.post({"score": 7}, other).json()["edit_token"]
        for bad in ("nope", token):
            response = self.post({"score": 2, "comment": "hijack", "edit_token": bad})
            assert response.status_code == 400
            assert response.json()["error"]["field"] == "edit_token"
        assert Response.objects.get().comment == ""

    def test_an_inactive_survey_refuses_answers(self) -> None:
        self.survey.is_active = False
        self.survey.save()
        response = self.post({"score": 9})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "inactive"

    def test_a_verified_user_cannot_answer_twice_within_the_window(self) -> None:
        body = {"score": 10, "user_id": "u-42", "user_hash": self.hash_for("u-42")}
        assert self.post(body).status_code == 201
        second = self.post({**body, "score": 0})
        assert second.status_code == 409
        assert second.json()["error"]["code"] == "already_answered"
        assert Response.objects.get().score == 10

    def test_a_refused_origin_stores_nothing(self) -> None:
        self.assertRefused(self.post({"score": 9}, origin="https://evil.example"))
        self.assertRefused(self.post({"score": 9}, origin=None))
        assert not Response.objects.exists()

    def test_a_logged_in_browser_gets_no_cookies_and_needs_no_csrf_token(self) -> None:
        self.client.force_login(self.alice)
        response = self.post({"score": 9})
        assert response.status_code == 201
        self.assertNoCookies(response)
        assert Response.objects.get().contact is None, "a Kaiku login is not an identity"

    def test_it_allows_only_post_and_options(self) -> None:
        url = reverse("widget:responses", args=[self.survey.public_id])
        assert self.client.get(url, headers={"Origin": ACME_SITE}).status_code == 405


class RateLimitTests(WidgetTestCase):
    def setUp(self) -> None:
        super().setUp()
        # Inside one minute window: requests that straddle a boundary would be
        # counted in two windows and never reach the limit.
        traveller = time_machine.travel(datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC), tick=True)
        traveller.start()
        self.addCleanup(traveller.stop)

    @override_settings(RATE_LIMIT_IP_PER_MINUTE=2, RATE_LIMIT_SURVEY_PER_MINUTE=100)
    def test_it_limits_answers_per_client_with_retry_after(self) -> None:
        assert self.post({"score": 9}).status_code == 201
        assert self.post({"score": 8}).status_code == 201
        response = self.post({"score": 7})
        assert response.status_code == 429
        assert 1 <= int(response["Retry-After"]) <= 60
        self.assertAllowed(response)  # the script can read why
        assert "Retry-After" in response["Access-Control-Expose-Headers"]
        assert response.json()["error"]["code"] == "rate_limited"
        assert Response.objects.count() == 2

    @override_settings(RATE_LIMIT_IP_PER_MINUTE=100, RATE_LIMIT_SURVEY_PER_MINUTE=1)
    def test_it_limits_answers_per_survey_across_clients(self) -> None:
        assert self.post({"score": 9}).status_code == 201
        url = reverse("widget:responses", args=[self.survey.public_id])
        other_client = self.client.post(
            url,
            json.dumps({"score": 9}),
            content_type="application/json",
            headers={"Origin": ACME_SITE},
            REMOTE_ADDR="198.51.100.7",
        )
        assert other_client.status_code == 429
        assert self.post({"score": 9}, self.charlies_survey, GLOBEX_SITE).status_code == 201

    @override_settings(RATE_LIMIT_IP_PER_MINUTE=1, RATE_LIMIT_SURVEY_PER_MINUTE=100)
    def test_eligibility_checks_get_a_larger_allowance_than_answers(self) -> None:
        allowance = ELIGIBILITY_LIMIT_FACTOR
        statuses = [self.eligibility().status_code for _ in range(allowance + 1)]
        assert statuses == [200] * allowance + [429]

    @override_settings(RATE_LIMIT_IP_PER_MINUTE=1)
    def test_preflights_and_refused_origins_do_not_count(self) -> None:
        url = reverse("widget:responses", args=[self.survey.public_id])
        for _ in range(3):
            self.client.options(url, headers={"Origin": ACME_SITE})
            self.post({"score": 1}, origin="https://evil.example")
        assert self.post({"score": 9}).status_code == 201


def test_the_documented_user_hash_example_is_right() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "widget.md").read_text()
    workspace = Workspace(secret="test-secret")
    assert sign_uid(workspace, "u-42") in docs
