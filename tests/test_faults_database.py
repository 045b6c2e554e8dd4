"""The database unreachable for a moment: 503 + Retry-After, no stack trace, nothing lost.

Unit tests of kaiku.lib.middleware on any engine (a view's connection error is
simulated), then the real thing on PostgreSQL: a granian web process talks to
PostgreSQL through a TCP proxy that the test cuts and restores
(tests/faults.py), while answers are posted.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg
import pytest
from django.db import IntegrityError, InterfaceError, OperationalError, connection
from django.test import RequestFactory, TransactionTestCase, override_settings

from kaiku.accounts.models import Workspace
from kaiku.api.actions import create_api_key
from kaiku.api.models import Scope
from kaiku.lib.middleware import database_unavailable, server_error
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey
from tests.base import BaseTestCase
from tests.live_stack import (
    TcpProxy,
    WebProcess,
    database_url,
    http_get,
    kaiku_env,
    post_form,
    post_json,
)
from tests.test_api_base import ApiTestCase


def connection_error(message: str = "connection failed: Connection refused") -> OperationalError:
    """What Django raises when psycopg cannot reach the server (no SQLSTATE)."""
    error = OperationalError(message)
    error.__cause__ = psycopg.OperationalError(message)
    return error


def _with_cause(error: Exception, cause: Exception) -> Exception:
    error.__cause__ = cause
    return error


class ConnectionErrorTests(BaseTestCase):
    def test_only_connection_errors_count(self) -> None:
        refused = connection_error()
        gone = _with_cause(OperationalError("x"), _pg_error("57P01"))  # admin shutdown
        locked = _with_cause(OperationalError("x"), sqlite3.OperationalError("database is locked"))
        missing = _with_cause(OperationalError("x"), sqlite3.OperationalError("no such table: x"))
        syntax = _with_cause(OperationalError("x"), _pg_error("42601"))
        assert database_unavailable(refused)
        assert database_unavailable(gone)
        assert database_unavailable(locked)
        assert database_unavailable(InterfaceError("connection already closed"))
        assert not database_unavailable(missing), "a missing table is a bug, not an outage"
        assert not database_unavailable(syntax)
        assert not database_unavailable(IntegrityError("duplicate key"))
        assert not database_unavailable(ValueError("no"))


def _pg_error(sqlstate: str) -> Exception:
    """An error as psycopg raises it when the server answers with this SQLSTATE."""
    return psycopg.errors.lookup(sqlstate)("server said no")


class RespondentPageTests(BaseTestCase):
    def post_answer(self, **extra: str) -> Any:
        form = {"score": "7", "lang": "en", "nonce": "n" * 20, "comment": "<b>slow</b>", **extra}
        with mock.patch("kaiku.responses.views._public", side_effect=connection_error()):
            return self.client.post(f"/s/{self.survey.public_id}/", form)

    def test_a_post_during_an_outage_is_a_503_that_can_post_the_answer_again(self) -> None:
        response = self.post_answer()
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
        assert response["Cache-Control"] == "no-store"
        page = response.content.decode()
        assert f'<form method="post" action="/s/{self.survey.public_id}/">' in page
        for field in ('name="score" value="7"', 'name="nonce" value="nnnnnnnnnnnnnnnnnnnn"'):
            assert field in page
        assert 'name="comment" value="&lt;b&gt;slow&lt;/b&gt;"' in page, "escaped"
        assert "Try again" in page
        assert "Traceback" not in page
        assert "OperationalError" not in page
        assert not Response.objects.exists()

    def test_the_page_speaks_the_respondents_language(self) -> None:
        page = self.post_answer(lang="fi").content.decode()
        assert '<html lang="fi">' in page
        assert "Yritä uudelleen" in page

    def test_a_get_during_an_outage_offers_a_reload(self) -> None:
        with mock.patch("kaiku.responses.views._public", side_effect=connection_error()):
            response = self.client.get(f"/s/{self.survey.public_id}/?lang=et")
        assert response.status_code == 503
        page = response.content.decode()
        assert "<form" not in page
        assert f'href="/s/{self.survey.public_id}/?lang=et"' in page
        assert "Proovi uuesti" in page

    def test_passwords_are_never_written_back_into_the_page(self) -> None:
        with mock.patch(
            "django.contrib.auth.forms.AuthenticationForm.clean", side_effect=connection_error()
        ):
            response = self.client.post(
                "/accounts/login/", {"username": "alice@example.org", "password": "s3cret-pw"}
            )
        assert response.status_code == 503
        page = response.content.decode()
        assert "alice@example.org" in page
        assert "s3cret-pw" not in page

    def test_other_database_errors_stay_errors(self) -> None:
        missing = _with_cause(OperationalError("x"), sqlite3.OperationalError("no such table: x"))
        with (
            mock.patch("kaiku.responses.views._public", side_effect=missing),
            pytest.raises(OperationalError),
        ):
            self.client.post(f"/s/{self.survey.public_id}/", {"score": "7"})

    def test_a_connection_error_escaping_a_middleware_is_a_503_too(self) -> None:
        request = RequestFactory().get("/anything/", HTTP_ACCEPT="application/json")
        try:
            raise connection_error()
        except OperationalError:
            response = server_error(request)
        assert response.status_code == 503
        assert json.loads(response.content)["error"]["code"] == "unavailable"

    @override_settings(DEBUG=False)
    def test_other_escaping_errors_keep_the_500_page(self) -> None:
        request = RequestFactory().get("/anything/")
        try:
            raise ValueError("a bug")
        except ValueError:
            assert sys.exc_info()[0] is ValueError
            response = server_error(request)
        assert response.status_code == 500


class ApiTests(ApiTestCase):
    def test_the_api_answers_json_503_with_retry_after(self) -> None:
        with mock.patch(
            "kaiku.api.routes.responses.submit_response", side_effect=connection_error()
        ):
            response = self.api_post(
                "/responses", {"survey": self.survey.pk, "score": 9}, token=self.write_token
            )
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
        assert json.loads(response.content)["error"]["code"] == "unavailable"

    def test_a_broken_query_is_still_a_500(self) -> None:
        bad = _with_cause(OperationalError("x"), sqlite3.OperationalError("no such column: y"))
        with mock.patch("kaiku.api.routes.responses.submit_response", side_effect=bad):
            response = self.api_post(
                "/responses", {"survey": self.survey.pk, "score": 9}, token=self.write_token
            )
        assert response.status_code == 500


@pytest.mark.postgres
class OutageTests(TransactionTestCase):
    """A granian web process on PostgreSQL through a proxy the test cuts and restores."""

    def test_an_answer_posted_during_an_outage_is_stored_once_after_recovery(self) -> None:
        workspace = Workspace.objects.create(name="Acme", slug="acme")
        survey = Survey.objects.create(workspace=workspace, name="NPS")
        _key, token = create_api_key(workspace, "CRM", Scope.READ_WRITE, None, None)
        settings = connection.settings_dict
        proxy = TcpProxy(settings.get("HOST") or "127.0.0.1", int(settings.get("PORT") or 5432))
        proxy.start()
        with tempfile.TemporaryDirectory() as data_dir:
            env = kaiku_env(Path(data_dir), KAIKU_DATABASE_URL=database_url(port=proxy.port))
            web = WebProcess(env)
            try:
                web.wait_until_healthy()
                self._outage_and_recovery(web, proxy, survey, token)
            finally:
                web.stop()
                proxy.close()
        answers = Response.objects.filter(survey=survey)
        keys = sorted(key or "" for key in answers.values_list("idempotency_key", flat=True))
        assert keys == ["api-during-outage", "form:before-the-outage-1", "form:during-the-outage-2"]

    def _outage_and_recovery(
        self, web: WebProcess, proxy: TcpProxy, survey: Survey, token: str
    ) -> None:
        url = f"{web.url}/s/{survey.public_id}/"
        before = {"score": "9", "lang": "en", "nonce": "before-the-outage-1"}
        assert post_form(url, before)[0] == 303
        proxy.cut()
        started = time.monotonic()
        answer = {"score": "3", "lang": "fi", "nonce": "during-the-outage-2"}
        status, headers, page = post_form(url, answer)
        assert status == 503, page[:500]
        assert headers["retry-after"] == "5"
        assert 'name="nonce" value="during-the-outage-2"' in page, "the page can post it again"
        assert "Yritä uudelleen" in page
        assert "Traceback" not in page
        assert time.monotonic() - started < 5, "an outage answers at once, not after a timeout"
        api = post_json(
            f"{web.url}/api/v1/responses",
            {"survey": survey.pk, "score": 5, "idempotency_key": "api-during-outage"},
            token,
        )
        assert (api[0], json.loads(api[2])["error"]["code"]) == (503, "unavailable")
        assert http_get(f"{web.url}/healthz")[0] == 503
        proxy.restore()
        # No restart: the next request reconnects. The respondent presses "Try again"
        # twice (or the script retries): still one answer.
        first = post_form(url, answer)
        second = post_form(url, answer)
        assert first[0] == second[0] == 303, (first, web.log())
        assert first[1]["location"] == second[1]["location"]
        assert (
            post_json(
                f"{web.url}/api/v1/responses",
                {"survey": survey.pk, "score": 5, "idempotency_key": "api-during-outage"},
                token,
            )[0]
            == 201
        )
        assert http_get(f"{web.url}/healthz")[0] == 200
