"""API keys: creation, bearer authentication, scopes, errors, and the keys page."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.db import IntegrityError
from django.test import override_settings
from django.utils import timezone

from kaiku.api.actions import create_api_key, revoke_api_key
from kaiku.api.errors import RateLimited
from kaiku.api.models import ApiKey, Scope
from tests.test_api_base import ApiTestCase

KEY_FORMAT = re.compile(r"^kaiku_([A-Za-z0-9]{8})_[A-Za-z0-9]{32}$")


class ApiKeyCreationTests(ApiTestCase):
    def test_it_stores_the_hash_and_never_the_plaintext(self) -> None:
        key, plaintext = create_api_key(self.workspace, "CRM", Scope.READ, None, self.alice)
        match = KEY_FORMAT.match(plaintext)
        assert match is not None, plaintext
        key.refresh_from_db()
        assert key.prefix == match.group(1)
        assert key.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        assert key.created_by == self.alice
        stored = ApiKey.objects.filter(pk=key.pk).values().get()
        assert plaintext not in [str(v) for v in stored.values()]
        secret = plaintext.rsplit("_", 1)[1]
        assert not any(secret in str(v) for v in stored.values())

    def test_every_key_is_different(self) -> None:
        tokens = {create_api_key(self.workspace, "k", Scope.READ, None, None)[1] for _ in range(5)}
        assert len(tokens) == 5

    def test_it_refuses_an_unknown_scope(self) -> None:
        with pytest.raises(ValueError, match="scope"):
            create_api_key(self.workspace, "k", "admin", None, None)

    def test_revoking_twice_is_harmless(self) -> None:
        assert revoke_api_key(self.read_key)
        first = ApiKey.objects.get(pk=self.read_key.pk).revoked_at
        assert not revoke_api_key(self.read_key)
        assert ApiKey.objects.get(pk=self.read_key.pk).revoked_at == first


class BearerAuthTests(ApiTestCase):
    def test_a_valid_key_reads_its_workspace(self) -> None:
        response = self.api_get("/surveys")
        assert response.status_code == 200
        assert [s["id"] for s in response.json()["data"]] == [self.survey.pk]

    def test_it_refuses_a_missing_key(self) -> None:
        response = self.client.get("/api/v1/surveys")
        self.assertApiError(response, 401, "unauthorized")
        assert response["WWW-Authenticate"] == 'Bearer realm="kaiku"'

    def test_it_refuses_another_scheme(self) -> None:
        response = self.client.get(
            "/api/v1/surveys", headers={"authorization": f"Token {self.read_token}"}
        )
        self.assertApiError(response, 401, "unauthorized")

    def test_it_refuses_an_unknown_key(self) -> None:
        for token in ["kaiku_AAAAAAAA_" + "B" * 32, "nonsense", self.read_token + "x"]:
            with self.subTest(token=token):
                error = self.assertApiError(self.api_get("/surveys", token), 401, "unauthorized")
                assert error["message"] == "Unknown API key."

    def test_it_refuses_a_key_with_a_borrowed_prefix(self) -> None:
        # Right prefix, wrong secret: the hash decides, not the prefix.
        forged = f"kaiku_{self.read_key.prefix}_" + "C" * 32
        self.assertApiError(self.api_get("/surveys", forged), 401, "unauthorized")

    def test_it_refuses_a_revoked_key(self) -> None:
        revoke_api_key(self.read_key)
        error = self.assertApiError(self.api_get("/surveys"), 401, "unauthorized")
        assert "revoked" in error["message"]

    def test_it_refuses_an_expired_key(self) -> None:
        _key, token = create_api_key(
            self.workspace, "Temp", Scope.READ, timezone.now() + timedelta(days=1), None
        )
        assert self.api_get("/surveys", token).status_code == 200
        with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
            error = self.assertApiError(self.api_get("/surveys", token), 401, "unauthorized")
        assert "expired" in error["message"]

    def test_a_read_key_cannot_write(self) -> None:
        body = {"survey": self.survey.pk, "score": 9}
        response = self.api_post("/responses", body, token=self.read_token)
        error = self.assertApiError(response, 403, "forbidden")
        assert "read_write" in error["message"]
        assert not self.survey.responses.exists()

    def test_it_ignores_session_cookies(self) -> None:
        self.login_as(self.alice)
        self.assertApiError(self.client.get("/api/v1/surveys"), 401, "unauthorized")


class LastUsedTests(ApiTestCase):
    def test_last_used_is_written_at_most_once_a_minute(self) -> None:
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            self.api_get("/surveys")
        self.read_key.refresh_from_db()
        assert self.read_key.last_used_at == start

        # One query for the key, one for the surveys: no UPDATE.
        with (
            time_machine.travel(start + timedelta(seconds=59), tick=False),
            self.assertNumQueries(2),
        ):
            self.api_get("/surveys")
        self.read_key.refresh_from_db()
        assert self.read_key.last_used_at == start

        later = start + timedelta(seconds=61)
        with time_machine.travel(later, tick=False):
            self.api_get("/surveys")
        self.read_key.refresh_from_db()
        assert self.read_key.last_used_at == later

    def test_a_stale_copy_cannot_write_twice(self) -> None:
        # Two processes each holding the key from before: only one UPDATE matches.
        from kaiku.api.actions import note_api_key_used

        now = timezone.now()
        first, second = (
            ApiKey.objects.get(pk=self.read_key.pk),
            ApiKey.objects.get(pk=self.read_key.pk),
        )
        note_api_key_used(first, now)
        note_api_key_used(second, now + timedelta(seconds=10))
        self.read_key.refresh_from_db()
        assert self.read_key.last_used_at == now


class ErrorFormatTests(ApiTestCase):
    """Every status answers {"error": {"code", "message", "field"}}."""

    def test_404_for_an_unknown_object_and_an_unknown_route(self) -> None:
        self.assertApiError(self.api_get("/surveys/999999"), 404, "not_found")
        self.assertApiError(self.api_get("/nothing-here"), 404, "not_found")
        self.assertApiError(self.api_get("/surveys/abc"), 404, "not_found")

    def test_405_for_an_unknown_method(self) -> None:
        response = self.client.delete(
            f"/api/v1/surveys/{self.survey.pk}", headers=self._auth(self.write_token)
        )
        self.assertApiError(response, 405, "method_not_allowed")
        assert "GET" in response["Allow"]

    def test_422_names_the_query_parameter(self) -> None:
        self.assertApiError(self.api_get("/surveys", limit=0), 422, "invalid", "limit")
        self.assertApiError(self.api_get("/surveys", limit=101), 422, "invalid", "limit")
        self.assertApiError(self.api_get("/surveys", cursor="!!"), 422, "invalid", "cursor")

    def test_400_for_a_body_that_is_not_json(self) -> None:
        response = self.client.post(
            "/api/v1/responses",
            "{not json",
            content_type="application/json",
            headers=self._auth(self.write_token),
        )
        self.assertApiError(response, 400, "bad_request")

    def test_409_for_a_conflict(self) -> None:
        with mock.patch(
            "kaiku.api.routes.surveys.surveys_for_workspace",
            side_effect=IntegrityError("UNIQUE constraint failed: secret_table.column"),
        ):
            error = self.assertApiError(self.api_get("/surveys"), 409, "conflict")
        assert "secret_table" not in error["message"]

    def test_429_carries_retry_after(self) -> None:
        with mock.patch("kaiku.api.auth.check_rate_limit", side_effect=RateLimited(12.2)):
            response = self.api_get("/surveys")
        self.assertApiError(response, 429, "rate_limited")
        assert response["Retry-After"] == "13"

    def test_500_hides_the_details(self) -> None:
        with (
            mock.patch(
                "kaiku.api.routes.surveys.surveys_for_workspace",
                side_effect=RuntimeError("database password is hunter2"),
            ),
            self.assertLogs("kaiku.api", level="ERROR"),
        ):
            response = self.api_get("/surveys")
        error = self.assertApiError(response, 500, "server_error")
        assert "hunter2" not in error["message"]
        assert b"hunter2" not in response.content


class ApiKeysPageTests(ApiTestCase):
    def url(self, slug: str = "acme") -> str:
        return f"/w/{slug}/api-keys/"

    def revoke_url(self, key: ApiKey, slug: str = "acme") -> str:
        return f"/w/{slug}/api-keys/{key.pk}/revoke/"

    def test_it_lists_the_workspaces_keys(self) -> None:
        self.login_as(self.alice)
        response = self.client.get(self.url())
        assert response.status_code == 200
        self.assertContains(response, "Helpdesk")
        self.assertContains(response, f"kaiku_{self.write_key.prefix}_")
        self.assertNotContains(response, self.write_key.key_hash)
        self.assertNotContains(response, "Globex CRM")
        assert response["Cache-Control"].count("no-store") == 1

    def test_it_shows_a_new_key_once(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(
            self.url(), {"name": "Zapier", "scope": "read_write", "expires_on": ""}
        )
        assert response.status_code == 200
        key = ApiKey.objects.get(name="Zapier")
        assert key.scope == Scope.READ_WRITE
        assert key.created_by == self.alice
        assert key.expires_at is None
        plaintext = re.search(rb"kaiku_[A-Za-z0-9]{8}_[A-Za-z0-9]{32}", response.content)
        assert plaintext is not None
        token = plaintext.group().decode()
        assert self.api_get("/surveys", token).status_code == 200
        self.assertNotContains(self.client.get(self.url()), token)

    def test_an_expiry_day_ends_in_the_workspaces_time_zone(self) -> None:
        self.login_as(self.alice)
        day = timezone.localdate() + timedelta(days=30)
        self.client.post(
            self.url(), {"name": "Temp", "scope": "read", "expires_on": day.isoformat()}
        )
        expires = ApiKey.objects.get(name="Temp").expires_at
        assert expires is not None
        local = expires.astimezone(self.workspace.tzinfo)
        assert (local.date(), local.hour) == (day + timedelta(days=1), 0)

    def test_it_refuses_an_expiry_in_the_past(self) -> None:
        self.login_as(self.alice)
        day = timezone.localdate() - timedelta(days=2)
        response = self.client.post(
            self.url(), {"name": "Old", "scope": "read", "expires_on": day.isoformat()}
        )
        assert response.status_code == 400
        assert not ApiKey.objects.filter(name="Old").exists()

    def test_it_revokes_a_key(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(self.revoke_url(self.read_key))
        self.assertRedirects(response, self.url())
        self.read_key.refresh_from_db()
        assert self.read_key.revoked_at is not None
        self.client.logout()
        self.assertApiError(self.api_get("/surveys"), 401, "unauthorized")

    def test_an_agent_is_refused(self) -> None:
        self.login_as(self.bob)
        assert self.client.get(self.url()).status_code == 403
        response = self.client.post(self.url(), {"name": "Bob's", "scope": "read_write"})
        assert response.status_code == 403
        assert not ApiKey.objects.filter(name="Bob's").exists()
        assert self.client.post(self.revoke_url(self.write_key)).status_code == 403
        self.write_key.refresh_from_db()
        assert self.write_key.revoked_at is None

    def test_an_outsider_gets_404(self) -> None:
        self.assertRefusedToOutsider(self.url())
        self.assertRefusedToOutsider(self.url(), method="post")
        self.assertRefusedToOutsider(self.revoke_url(self.write_key), method="post")
        self.write_key.refresh_from_db()
        assert self.write_key.revoked_at is None

    def test_a_key_of_another_workspace_cannot_be_revoked_through_ours(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(self.revoke_url(self.charlies_key))
        assert response.status_code == 404
        self.charlies_key.refresh_from_db()
        assert self.charlies_key.revoked_at is None

    def test_anonymous_visitors_are_sent_to_log_in(self) -> None:
        response = self.client.get(self.url())
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


@override_settings(API_RATE_LIMIT_PER_MINUTE=3)
class RateLimitTests(ApiTestCase):
    def test_a_key_over_its_limit_gets_429_until_the_next_minute(self) -> None:
        start = datetime(2026, 1, 5, 9, 0, 20, tzinfo=UTC)
        with time_machine.travel(start, tick=False):
            for _ in range(3):
                assert self.api_get("/surveys").status_code == 200
            response = self.api_get("/surveys")
            self.assertApiError(response, 429, "rate_limited")
            assert response["Retry-After"] == "40"
            # Another key of the same workspace has its own budget.
            assert self.api_get("/surveys", self.write_token).status_code == 200
        with time_machine.travel(start + timedelta(seconds=40), tick=False):
            assert self.api_get("/surveys").status_code == 200

    @override_settings(API_RATE_LIMIT_PER_MINUTE=0)
    def test_zero_turns_the_limit_off(self) -> None:
        for _ in range(5):
            assert self.api_get("/surveys").status_code == 200
