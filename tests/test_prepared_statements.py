"""Prepared statements on PostgreSQL for the answer path (kaiku/lib/postgresql/base.py).

kaiku.lib.plainsql runs its statements, whose text is built once per process,
through the backend's prepared_cursor(): the server parses and plans each once
per connection. These tests pin that an API answer's and a public-link answer's
statements are prepared on first use and then reused, that ORM statements are
never prepared, that the setting turns it off, that captured SQL still shows the
values, and that prepared statements survive what a running site meets: a
repeated answer's integrity error, a column added by a migration, a dropped
connection.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import close_old_connections, connection
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext

from kaiku.accounts.models import Workspace
from kaiku.api.actions import create_api_key
from kaiku.api.models import Scope
from kaiku.responses.models import Response
from kaiku.settings import _database
from kaiku.surveys.models import Survey
from tests.test_counted_reads import ApiAnswers


def prepared() -> dict[str, str]:
    """This connection's prepared statements: name → text."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def prepared_by(action: Any) -> list[str]:
    """The texts of the statements `action` had the server prepare."""
    before = prepared()
    action()
    return [text for name, text in prepared().items() if name not in before]


@pytest.mark.postgres
class PreparedAnswerPathTests(ApiAnswers):
    def created(self, key: str) -> None:
        response = self.answer(self.token, key)
        assert response.status_code == 201, response.content

    def test_an_api_answers_statements_are_prepared_once_then_reused(self) -> None:
        first = prepared_by(lambda: self.created("k-1"))
        assert any('"api_apikey"' in text and "kaiku_rate_counter" in text for text in first), first
        assert any('INSERT INTO "responses_response"' in text for text in first), first
        assert all("$1" in text for text in first), "values travel as parameters"
        again = prepared_by(lambda: self.created("k-2"))
        assert again == []
        keys = set(Response.objects.values_list("idempotency_key", flat=True))
        assert keys == {"k-1", "k-2"}

    def test_a_public_link_answers_statements_are_prepared(self) -> None:
        def answer(nonce: str) -> None:
            response = self.client.post(
                f"/s/{self.survey.public_id}/", {"score": 3, "lang": "en", "nonce": nonce}
            )
            assert response.status_code == 303, response.content

        first = prepared_by(lambda: answer("n" * 24))
        assert any('"surveys_survey"' in text and "kaiku_rate_counter" in text for text in first)
        assert prepared_by(lambda: answer("m" * 24)) == []
        assert Response.objects.filter(survey=self.survey, score=3).count() == 2

    def test_orm_statements_are_not_prepared(self) -> None:
        def orm() -> None:
            for _ in range(10):
                list(Survey.objects.filter(workspace=self.workspace))
                Response.objects.filter(survey=self.survey).count()

        assert prepared_by(orm) == []

    def test_without_a_threshold_nothing_is_prepared(self) -> None:
        options = connection.settings_dict["OPTIONS"]
        threshold = options.pop("prepare_threshold")
        try:
            made = prepared_by(lambda: self.answer(self.token, "k-off"))
        finally:
            options["prepare_threshold"] = threshold
        assert made == []
        assert Response.objects.filter(idempotency_key="k-off").exists()

    def test_captured_statements_show_their_values(self) -> None:
        with CaptureQueriesContext(connection) as queries:
            assert self.answer(self.token, "k-shown").status_code == 201
        texts = [query["sql"] for query in queries.captured_queries]
        assert any("'k-shown'" in text for text in texts), texts
        assert not any("$1" in text for text in texts), texts

    def test_a_repeated_answer_then_a_new_one(self) -> None:
        created = self.answer(self.token, "k-twice")
        repeated = self.answer(self.token, "k-twice")
        assert (created.status_code, repeated.status_code) == (201, 200)
        assert created.json()["id"] == repeated.json()["id"]
        assert self.answer(self.token, "k-after").status_code == 201
        assert Response.objects.filter(idempotency_key__startswith="k-").count() == 2

    def test_a_column_added_after_preparing(self) -> None:
        self.created("k-before")
        with connection.cursor() as cursor:  # as a migration would (rolled back with the test)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's transaction's checks
            for table in ("responses_response", "api_apikey", "accounts_workspace"):
                cursor.execute(f"ALTER TABLE {table} ADD COLUMN later integer DEFAULT 7")
        self.created("k-after")
        assert Response.objects.filter(idempotency_key="k-after").exists()


@pytest.mark.postgres
class PreparedReconnectTests(TransactionTestCase):
    def test_a_new_connection_prepares_again(self) -> None:
        workspace = Workspace.objects.create(name="Acme", slug="acme")
        survey = Survey.objects.create(workspace=workspace, name="NPS")
        _key, token = create_api_key(workspace, "crm", Scope.READ_WRITE, None, None)

        def answer(key: str) -> int:
            return int(
                self.client.post(
                    "/api/v1/responses",
                    {"survey": survey.pk, "score": 9, "idempotency_key": key},
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {token}",
                ).status_code
            )

        assert answer("r-1") == 201
        # The server ends the session (a restart, a pooler), seen from another connection.
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            other.execute(
                "SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid]
            )
        close_old_connections()  # each request's start under a server; the test client skips it
        assert answer("r-2") == 201  # the health check found the connection gone: a new one
        assert prepared(), "prepared again on the new connection"
        assert Response.objects.filter(survey=survey).count() == 2


@pytest.mark.parametrize(
    ("value", "threshold"), [(None, 5), ("1", 5), ("true", 5), ("0", None), ("false", None)]
)
def test_the_setting(
    monkeypatch: pytest.MonkeyPatch, value: str | None, threshold: int | None
) -> None:
    if value is None:
        monkeypatch.delenv("KAIKU_DB_PREPARED_STATEMENTS", raising=False)
    else:
        monkeypatch.setenv("KAIKU_DB_PREPARED_STATEMENTS", value)
    config = _database("postgres://kaiku@127.0.0.1:5432/kaiku")
    assert config.get("OPTIONS", {}).get("prepare_threshold") == threshold
    assert "prepare_threshold" not in _database("sqlite:///:memory:")["OPTIONS"]
