"""Rate limits counted in the same statement as the answer path's first read.

On PostgreSQL with the counter table, a public-link answer reads its survey and
counts the client's and the survey's limits in one statement, and an API request
reads its key and counts the key's limit in one statement (kaiku.lib.ratelimit
.counting, kaiku.lib.plainsql.get_after), with the survey its JSON body names if
that survey is the key's workspace's (get_after_with). These tests pin that the counts are the
same as counting separately, that unknown or closed links and unknown keys write
no counters of their own, and that another workspace's key has its own budget.
Elsewhere (SQLite, Redis, the cache) counting() is None and the paths count as
before, which the other rate-limit tests cover on both engines; the key and the
survey are read in one statement on every engine (KeyAndSurveyReadTests).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any, ClassVar
from unittest.mock import patch

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from kaiku.api.actions import create_api_key, revoke_api_key
from kaiku.api.models import ApiKey, Scope
from kaiku.lib import plainsql, ratelimit
from kaiku.lib.models import RateCounter
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey
from tests.base import BaseTestCase
from tests.smtp import IMMEDIATE_TASKS

# Ten seconds into a minute: every count in a test falls into one window.
MID_WINDOW = datetime(2026, 5, 1, 12, 0, 10, tzinfo=UTC)
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The SQL run, without the savepoints a TestCase's transaction adds around writes."""
    return [
        query["sql"]
        for query in queries.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def counter_hits() -> list[int]:
    return sorted(RateCounter.objects.values_list("hits", flat=True))


def exists_survey(public_id: str) -> ratelimit.Condition:
    return ratelimit.Condition(
        plainsql.exists_sql(Survey, ("public_id", "is_active")), (public_id, True)
    )


class WhereCountingIsOfferedTests(BaseTestCase):
    def test_only_postgresql_with_the_counter_table_counts_in_a_statement(self) -> None:
        found = ratelimit.counting(ratelimit.Limit("respond-ip", "203.0.113.1", 5))
        assert (found is not None) == (connection.vendor == "postgresql")

    @override_settings(RATE_LIMIT_STORE="cache", CACHES=LOCMEM)
    def test_other_stores_count_as_before(self) -> None:
        assert ratelimit.counting(ratelimit.Limit("respond-ip", "203.0.113.1", 5)) is None

    def test_nothing_to_count_is_none(self) -> None:
        assert ratelimit.counting(ratelimit.Limit("respond-ip", "203.0.113.1", 0)) is None


@pytest.mark.postgres
class CountingTests(BaseTestCase):
    def test_a_read_and_its_counts_are_one_statement_equal_to_the_plain_read(self) -> None:
        limit = ratelimit.Limit("respond-ip", "203.0.113.1", 5)
        counting = ratelimit.counting(limit)
        assert counting is not None
        with self.assertNumQueries(1):
            survey, counts = Survey.objects.by_public_id_after(
                counting.before, self.survey.public_id
            )
        expected = Survey.objects.by_public_id(self.survey.public_id)
        assert survey is not None
        assert expected is not None
        assert (survey.pk, survey.workspace.pk) == (expected.pk, expected.workspace.pk)
        assert survey.workspace.slug == "acme"
        assert counts == (1,)
        assert counting.wait(counts) == 0

    def test_counts_in_turn_and_says_how_long_to_wait(self) -> None:
        client = ratelimit.Limit("respond-ip", "203.0.113.1", 2)
        survey = ratelimit.Limit("respond-survey", self.survey.public_id, 100)
        seen = []
        with time_machine.travel(MID_WINDOW, tick=False):
            for _ in range(3):
                counting = ratelimit.counting(client, survey)
                assert counting is not None
                counts = plainsql.run(counting.before)
                seen.append((counts, counting.wait(counts)))
        # The third request is over the client's limit: the survey's is not counted.
        assert seen == [((1, 1), 0), ((2, 2), 0), ((3, None), 50)]

    def test_a_limit_whose_condition_fails_is_not_counted_and_refuses_nothing(self) -> None:
        client = ratelimit.Limit("respond-ip", "203.0.113.1", 5)
        unknown = ratelimit.Limit("respond-survey", "nosuchlink", 1, exists_survey("nosuchlink"))
        counting = ratelimit.counting(client, unknown)
        assert counting is not None
        survey, counts = Survey.objects.by_public_id_after(counting.before, "nosuchlink")
        assert survey is None
        assert counts == (1, None)
        assert counting.wait(counts) == 0
        assert counter_hits() == [1], "only the client's counter exists"

    def test_an_id_no_column_can_hold_still_counts(self) -> None:
        counting = ratelimit.counting(ratelimit.Limit("respond-ip", "203.0.113.1", 5))
        assert counting is not None
        with self.assertNumQueries(1):
            found, counts = plainsql.get_after(counting.before, Survey, "workspace", pk=2**63)
        assert found is None
        assert counts == (1,)

    def test_a_sibling_row_comes_with_the_read_only_from_the_same_parent(self) -> None:
        key, _token = create_api_key(self.workspace, "crm", Scope.READ_WRITE, None, None)
        charlies = Survey.objects.create(workspace=self.charlies_workspace, name="Globex NPS")
        cases = [(self.survey.pk, True), (charlies.pk, False), (2**62, False), (2**70, False)]
        for survey_id, found in cases:
            counting = ratelimit.counting(ratelimit.Limit("api-key", key.key_hash, 50))
            assert counting is not None
            sibling = plainsql.Sibling(Survey, "workspace", survey_id)
            with self.assertNumQueries(1):
                row, counts, survey = plainsql.get_after_with(
                    counting.before, ApiKey, "workspace", sibling, key_hash=key.key_hash
                )
            assert row is not None
            assert row.pk == key.pk
            assert counts[0] >= 1
            if not found:
                assert survey is None, survey_id
                continue
            assert isinstance(survey, Survey)
            expected = Survey.objects.get(pk=survey_id)
            fields = [f.attname for f in Survey._meta.concrete_fields]
            assert [getattr(survey, f) for f in fields] == [getattr(expected, f) for f in fields]
            assert survey.workspace is row.workspace

    def test_no_key_no_sibling(self) -> None:
        counting = ratelimit.counting(ratelimit.Limit("api-key", "0" * 64, 50))
        assert counting is not None
        sibling = plainsql.Sibling(Survey, "workspace", self.survey.pk)
        row, counts, survey = plainsql.get_after_with(
            counting.before, ApiKey, "workspace", sibling, key_hash="0" * 64
        )
        assert (row, survey) == (None, None)
        assert counts == (1,)

    def test_the_exists_condition_follows_the_row(self) -> None:
        def is_active() -> bool:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {exists_survey(self.survey.public_id).sql}",
                    [self.survey.public_id, True],
                )
                return bool(cursor.fetchone()[0])

        assert is_active()
        Survey.objects.filter(pk=self.survey.pk).update(is_active=False)
        assert not is_active()


@pytest.mark.postgres
@override_settings(TASKS=IMMEDIATE_TASKS)
class PublicAnswerTests(BaseTestCase):
    def post(self, public_id: str, nonce: str, address: str = "203.0.113.1") -> Any:
        data = {"score": "9", "lang": "en", "nonce": nonce}
        return self.client.post(f"/s/{public_id}/", data, REMOTE_ADDR=address)

    def test_an_answer_is_two_statements_and_counts_both_limits(self) -> None:
        with CaptureQueriesContext(connection) as queries:
            assert self.post(self.survey.public_id, "a" * 22).status_code == 303
        [first, answer] = statements(queries)
        assert first.startswith("WITH c0 AS (INSERT INTO kaiku_rate_counter"), first
        assert '"surveys_survey"' in first
        assert 'INSERT INTO "responses_response"' in answer
        assert Response.objects.count() == 1
        assert counter_hits() == [1, 1]

    @override_settings(RATE_LIMIT_SURVEY_PER_MINUTE=2)
    def test_the_survey_limit_is_shared_across_addresses_and_channels(self) -> None:
        with time_machine.travel(MID_WINDOW, tick=True):
            statuses = [
                self.post(self.survey.public_id, f"{i:022d}", f"198.51.100.{i}").status_code
                for i in range(3)
            ]
        assert statuses == [303, 303, 429]
        assert Response.objects.count() == 2

    @override_settings(RATE_LIMIT_IP_PER_MINUTE=2)
    def test_unknown_and_closed_links_count_the_client_only(self) -> None:
        closed = Survey.objects.create(workspace=self.workspace, name="Old", is_active=False)
        with time_machine.travel(MID_WINDOW, tick=True):
            assert self.post("nosuchlink0000", "b" * 22).status_code == 404
            assert self.post(closed.public_id, "c" * 22).status_code == 410
            assert counter_hits() == [2], "one client counter, no survey counters"
            assert self.post(self.survey.public_id, "d" * 22).status_code == 429
        assert not Response.objects.exists()

    def test_another_workspaces_survey_has_its_own_count(self) -> None:
        other = Survey.objects.create(workspace=self.charlies_workspace, name="Globex NPS")
        with (
            override_settings(RATE_LIMIT_SURVEY_PER_MINUTE=1),
            time_machine.travel(MID_WINDOW, tick=True),
        ):
            assert self.post(self.survey.public_id, "e" * 22, "198.51.100.1").status_code == 303
            assert self.post(other.public_id, "f" * 22, "198.51.100.2").status_code == 303
            assert self.post(other.public_id, "g" * 22, "198.51.100.3").status_code == 429
        assert Response.objects.filter(survey=other).count() == 1


@override_settings(TASKS=IMMEDIATE_TASKS)
class ApiAnswers(BaseTestCase):
    token: ClassVar[str]
    charlies_token: ClassVar[str]

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        _key, cls.token = create_api_key(cls.workspace, "crm", Scope.READ_WRITE, None, None)
        _other, cls.charlies_token = create_api_key(
            cls.charlies_workspace, "crm", Scope.READ_WRITE, None, None
        )

    def answer(self, token: str, idempotency_key: str, survey_id: int | None = None) -> Any:
        survey = self.survey.pk if survey_id is None else survey_id
        return self.client.post(
            "/api/v1/responses",
            {"survey": survey, "score": 9, "idempotency_key": idempotency_key},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )


def survey_reads(queries: CaptureQueriesContext) -> list[str]:
    return [sql for sql in statements(queries) if '"surveys_survey"' in sql]


class KeyAndSurveyReadTests(ApiAnswers):
    """On every engine: the survey an answer's body names is read with the API key."""

    def test_the_survey_comes_in_the_keys_statement(self) -> None:
        with CaptureQueriesContext(connection) as queries:
            assert self.answer(self.token, "k-1").status_code == 201
        (read,) = survey_reads(queries)
        assert '"api_apikey"' in read, "one statement reads the key and the survey"
        answer = Response.objects.get(idempotency_key="k-1")
        assert (answer.survey_id, answer.workspace_id) == (self.survey.pk, self.workspace.pk)

    def test_nothing_before_reads_the_key_and_its_survey_in_one_statement(self) -> None:
        key = ApiKey.objects.get(workspace=self.workspace)
        assert plainsql.run(plainsql.NOTHING) == ()
        charlies = Survey.objects.create(workspace=self.charlies_workspace, name="Globex NPS")
        for survey_id, found in ((self.survey.pk, True), (charlies.pk, False), (2**70, False)):
            sibling = plainsql.Sibling(Survey, "workspace", survey_id)
            with self.assertNumQueries(1):
                row, counts, survey = plainsql.get_after_with(
                    plainsql.NOTHING, ApiKey, "workspace", sibling, key_hash=key.key_hash
                )
            assert row is not None
            assert (row.pk, counts) == (key.pk, ())
            assert (survey is not None) == found, survey_id
            if isinstance(survey, Survey):
                assert survey.pk == self.survey.pk
                assert survey.workspace is row.workspace
        sibling = plainsql.Sibling(Survey, "workspace", self.survey.pk)
        none = plainsql.get_after_with(plainsql.NOTHING, ApiKey, "workspace", sibling, key_hash="0")
        assert none == (None, (), None)

    def test_another_workspaces_survey_read_with_the_key_is_404(self) -> None:
        charlies = Survey.objects.create(workspace=self.charlies_workspace, name="Globex NPS")
        for survey_id in (charlies.pk, 2**40, 2**70):
            with CaptureQueriesContext(connection) as queries:
                response = self.answer(self.token, f"x-{survey_id}", survey_id)
            assert response.status_code == 404, response.content
            assert response.json()["error"]["field"] == "survey"
            assert len(survey_reads(queries)) <= 1, statements(queries)  # with the key
        assert not Response.objects.exists()
        assert self.answer(self.charlies_token, "x-own", charlies.pk).status_code == 201

    def test_a_large_body_is_not_peeked_at_and_reads_its_survey_apart(self) -> None:
        with (
            patch("kaiku.api.auth.PEEK_LIMIT", 10),
            CaptureQueriesContext(connection) as queries,
        ):
            assert self.answer(self.token, "big-1").status_code == 201
        (read,) = survey_reads(queries)
        assert '"api_apikey"' not in read
        assert Response.objects.filter(idempotency_key="big-1").exists()

    def test_bodies_that_name_no_survey_plainly_are_read_as_before(self) -> None:
        for body in ('{"survey": "%d", "score": 9}', '{"survey": true, "score": 9}', "[1]", "{"):
            response = self.client.post(
                "/api/v1/responses",
                body % self.survey.pk if "%d" in body else body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {self.token}",
            )
            assert response.status_code in (201, 400, 422), (body, response.content)
        assert Response.objects.count() <= 1


@pytest.mark.postgres
class ApiKeyCountingTests(ApiAnswers):
    def test_the_key_and_its_count_are_one_statement(self) -> None:
        with CaptureQueriesContext(connection) as queries:
            assert self.answer(self.token, "k-1").status_code == 201
        first, *_rest = statements(queries)
        assert first.startswith("WITH c0 AS (INSERT INTO kaiku_rate_counter"), first
        assert '"api_apikey"' in first
        assert '"surveys_survey"' in first, "the body's survey is read with the key"
        # The key with its count and the survey, its last use (once a minute), the answer.
        assert len(statements(queries)) == 3, statements(queries)
        with CaptureQueriesContext(connection) as queries:
            assert self.answer(self.token, "k-2").status_code == 201
        assert len(statements(queries)) == 2, statements(queries)
        assert counter_hits() == [2]
        assert Response.objects.filter(survey=self.survey, channel="api").count() == 2

    def test_a_large_body_reads_its_survey_in_a_statement_of_its_own(self) -> None:
        self.answer(self.token, "big-0")  # the key's last use, once a minute
        with (
            patch("kaiku.api.auth.PEEK_LIMIT", 10),
            CaptureQueriesContext(connection) as queries,
        ):
            assert self.answer(self.token, "big-1").status_code == 201
        assert len(statements(queries)) == 3, statements(queries)  # key, survey, answer

    @override_settings(API_RATE_LIMIT_PER_MINUTE=2)
    def test_over_the_limit_is_429_and_another_workspaces_key_has_its_own_budget(self) -> None:
        with time_machine.travel(MID_WINDOW, tick=False):
            statuses = [self.answer(self.token, f"k-{i}").status_code for i in range(3)]
            refused = self.answer(self.token, "k-3")
            other = self.client.get(
                "/api/v1/surveys", HTTP_AUTHORIZATION=f"Bearer {self.charlies_token}"
            )
        assert statuses == [201, 201, 429]
        assert refused.status_code == 429
        assert refused["Retry-After"] == "50"
        assert other.status_code == 200
        ids = [survey["id"] for survey in other.json()["data"]]
        assert self.survey.pk not in ids, "Globex's key never sees Acme's surveys"
        assert Response.objects.count() == 2

    def test_unknown_keys_write_no_counters_and_revoked_keys_stay_out(self) -> None:
        unknown = self.token[:-1] + ("A" if self.token[-1] != "A" else "B")
        assert self.answer(unknown, "u-1").status_code == 401
        assert self.answer("not-a-key", "u-2").status_code == 401
        assert not RateCounter.objects.exists()
        revoke_api_key(ApiKey.objects.get(workspace=self.workspace))
        assert self.answer(self.token, "u-3").status_code == 401
        assert not Response.objects.exists()

    def test_the_delighted_api_counts_the_same_way(self) -> None:
        with CaptureQueriesContext(connection) as queries:
            response = self.client.get(
                "/delighted/v1/metrics.json",
                HTTP_AUTHORIZATION=_basic(self.token),
            )
        assert response.status_code == 200, response.content
        assert statements(queries)[0].startswith("WITH c0 AS (INSERT")
        assert counter_hits() == [1]


def _basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"{token}:".encode()).decode()
