"""The processing outbox: an answer's job goes through one small row, moved by the workers."""

from __future__ import annotations

import threading
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from kaiku.accounts.models import Workspace
from kaiku.lib import plainsql
from kaiku.lib.tasks import OutboxPump, drain_all_outboxes, drain_outboxes
from kaiku.responses.actions import record_response
from kaiku.responses.models import Channel, ProcessingOutbox, Response
from kaiku.responses.outbox import ResponseOutbox, queued_with_insert
from kaiku.responses.tasks import process_response
from kaiku.surveys.models import Survey
from kaiku.webhooks.models import WebhookEndpoint, WebhookEvent
from tests.base import BaseTestCase

FINNISH = "Asiakaspalvelu oli todella hidasta ja hinnat ovat liian korkeita"
ORIGINAL_ENQUEUE = process_response.enqueue


def patched_enqueue(replacement: Any) -> Any:
    """The outbox's view of process_response, with enqueue replaced (Task is frozen)."""
    return mock.patch("kaiku.responses.outbox.process_response", mock.Mock(enqueue=replacement))


def jobs() -> list[int]:
    """The answers that process_response jobs were queued for, sorted."""
    rows = DBTaskResult.objects.filter(task_path=process_response.module_path)
    return sorted(row.args_kwargs["args"][0] for row in rows)


class OutboxTests(BaseTestCase):
    def answer(self, score: int = 9, **kwargs: Any) -> Response:
        kwargs.setdefault("channel", Channel.LINK)
        return record_response(survey=self.survey, score=score, **kwargs).response

    def test_each_row_becomes_exactly_one_job(self) -> None:
        answers = [self.answer().pk for _ in range(3)]
        assert jobs() == []
        assert drain_outboxes() == 3
        assert drain_outboxes() == 0, "a row is moved once"
        assert jobs() == answers
        assert not ProcessingOutbox.objects.exists()

    def test_a_batch_is_bounded(self) -> None:
        answers = [self.answer().pk for _ in range(5)]
        outbox = ResponseOutbox()
        assert [outbox.drain(limit=2) for _ in range(4)] == [2, 2, 1, 0]
        assert jobs() == answers

    def test_changes_before_the_move_keep_one_row_and_later_ones_add_one(self) -> None:
        token = self.answer(score=3).edit_token
        self.answer(score=4, edit_token=token)
        self.answer(score=5, edit_token=token, comment=FINNISH)
        assert ProcessingOutbox.objects.count() == 1
        drain_all_outboxes()
        self.answer(score=6, edit_token=token)
        drain_all_outboxes()
        answer = Response.objects.get(edit_token=token).pk
        assert jobs() == [answer, answer], "one job before the move, one for the later change"

    def test_an_unchanged_resubmission_writes_no_row(self) -> None:
        token = self.answer(score=3).edit_token
        drain_all_outboxes()
        self.answer(score=3, edit_token=token)
        assert not ProcessingOutbox.objects.exists()

    def test_a_failed_move_keeps_every_row_and_queues_nothing(self) -> None:
        answers = [self.answer().pk for _ in range(3)]
        calls = iter([None, DatabaseError("queue table locked")])

        def flaky(*args: Any) -> Any:
            outcome = next(calls, None)
            if isinstance(outcome, Exception):
                raise outcome
            return ORIGINAL_ENQUEUE(*args)

        with patched_enqueue(flaky), pytest.raises(DatabaseError):
            drain_outboxes()
        assert jobs() == [], "the first job was rolled back with the batch"
        assert sorted(ProcessingOutbox.objects.values_list("pk", flat=True)) == answers
        assert drain_outboxes() == 3
        assert jobs() == answers

    def test_an_erased_answer_takes_its_row_along(self) -> None:
        self.answer().delete()
        assert not ProcessingOutbox.objects.exists()
        assert drain_outboxes() == 0

    def test_the_api_and_delighted_comment_edits_go_through_it(self) -> None:
        answer = self.answer(channel=Channel.API)
        drain_all_outboxes()
        from kaiku.delighted.actions import _store_changes

        _store_changes(answer, {"comment": FINNISH})
        assert list(ProcessingOutbox.objects.values_list("pk", flat=True)) == [answer.pk]

    def test_the_workspaces_rows_are_moved_alike_and_jobs_stay_per_answer(self) -> None:
        other = Survey.objects.create(workspace=self.charlies_workspace, name="Globex NPS")
        mine = self.answer().pk
        theirs = record_response(survey=other, score=1, channel=Channel.API).response.pk
        drain_all_outboxes()
        assert jobs() == sorted([mine, theirs])
        workspaces = Response.objects.filter(pk__in=jobs()).values_list("workspace", flat=True)
        assert set(workspaces) == {self.workspace.pk, self.charlies_workspace.pk}


class TakingTurnsPump(OutboxPump):
    """An OutboxPump that starts moving rows only when told, and says when it has.

    SQLite's test database is in memory with a shared cache, whose table locks
    fail at once ("database table is locked") instead of waiting as a file's
    locks do; so the test and the pump must not touch the tables at the same time.
    """

    def __init__(self) -> None:
        super().__init__(tick=0.01)
        self.go = threading.Event()
        self.moved = threading.Event()

    def step(self) -> bool:
        self.go.wait()
        more = super().step()
        if more:
            self.moved.set()
        return more


class PumpTests(TransactionTestCase):
    """The worker's thread, with its own database connection, as in `kaiku worker`."""

    def test_the_pump_moves_rows_as_they_come_and_stops(self) -> None:
        workspace = Workspace.objects.create(name="Pump", slug="pump")
        survey = Survey.objects.create(workspace=workspace, name="NPS")
        pump = TakingTurnsPump()
        pump.start()
        try:
            answer = record_response(survey=survey, score=9, channel=Channel.API).response
            pump.go.set()
            assert pump.moved.wait(timeout=5), "the running pump moved the new row"
        finally:
            pump.go.set()
            pump.stop()
            pump.join(timeout=5)
        assert not pump.is_alive()
        assert jobs() == [answer.pk]

    def test_worker_once_moves_the_rows_then_runs_their_jobs(self) -> None:
        # A TransactionTestCase: the worker closes its database connection.
        workspace = Workspace.objects.create(name="Once", slug="once")
        survey = Survey.objects.create(workspace=workspace, name="NPS")
        answer = record_response(
            survey=survey, score=2, comment=FINNISH, channel=Channel.API
        ).response
        call_command("worker", "--once", "--no-periodic", verbosity=0)
        answer.refresh_from_db()
        assert answer.comment_language == "fi"
        assert not ProcessingOutbox.objects.exists()
        job = DBTaskResult.objects.get(task_path=process_response.module_path)
        assert job.status == "SUCCESSFUL"

    @pytest.mark.postgres
    def test_concurrent_workers_take_disjoint_batches(self) -> None:
        # One worker holds its batch (its transaction still open) while another
        # drains: SKIP LOCKED gives the second the other rows, without waiting.
        workspace = Workspace.objects.create(name="Pump", slug="pump")
        survey = Survey.objects.create(workspace=workspace, name="NPS")
        answers = [
            record_response(survey=survey, score=9, channel=Channel.API).response.pk
            for _ in range(6)
        ]
        holding, release = threading.Event(), threading.Event()

        def slow(*args: Any) -> Any:
            if threading.current_thread().name == "first":
                holding.set()
                release.wait(10)
            return ORIGINAL_ENQUEUE(*args)

        moved: dict[str, int] = {}

        def first() -> None:
            try:
                moved["first"] = ResponseOutbox().drain(limit=3)
            finally:
                connection.close()

        with patched_enqueue(slow):
            thread = threading.Thread(target=first, name="first")
            thread.start()
            assert holding.wait(10)
            try:
                with connection.cursor() as cursor:
                    # Waiting for the first worker's rows would be an error, not a stall.
                    cursor.execute("SET lock_timeout = '1s'")
                moved["second"] = ResponseOutbox().drain()
            finally:
                release.set()
                thread.join(10)
                with connection.cursor() as cursor:
                    cursor.execute("RESET lock_timeout")
        assert moved == {"first": 3, "second": 3}
        assert jobs() == answers
        assert not ProcessingOutbox.objects.exists()


@pytest.mark.postgres
class OneStatementTests(TransactionTestCase):
    """PostgreSQL writes a new answer and its outbox row in one statement, no transaction."""

    def setUp(self) -> None:
        self.workspace = Workspace.objects.create(name="One", slug="one")
        self.survey = Survey.objects.create(workspace=self.workspace, name="NPS")

    def answer(self, key: str = "form:one-statement-0001") -> Any:
        return record_response(
            survey=self.survey, score=3, channel=Channel.LINK, idempotency_key=key
        )

    def test_a_new_answer_and_its_row_are_one_statement(self) -> None:
        with CaptureQueriesContext(connection) as queries:
            recorded = self.answer()
        statements = [query["sql"] for query in queries.captured_queries]
        assert len(statements) == 2, statements  # the listener check, then the answer
        assert "webhooks_webhookendpoint" in statements[0]
        assert statements[1].startswith('WITH new AS (INSERT INTO "responses_response"')
        assert recorded.created
        assert list(ProcessingOutbox.objects.values_list("response_id", flat=True)) == [
            recorded.response.pk
        ]
        assert Response.objects.get().score == 3

    def test_with_the_workspace_read_by_the_request_the_answer_is_the_only_statement(
        self,
    ) -> None:
        survey = Survey.objects.by_public_id(self.survey.public_id)  # as the answer page reads it
        assert survey is not None
        with CaptureQueriesContext(connection) as queries:
            record_response(
                survey=survey, score=3, channel=Channel.LINK, idempotency_key="form:fresh-0001"
            )
        [statement] = [query["sql"] for query in queries.captured_queries]
        assert statement.startswith('WITH new AS (INSERT INTO "responses_response"')

    def test_a_repeated_key_finds_the_first_answer_and_adds_no_row(self) -> None:
        first = self.answer().response
        ProcessingOutbox.objects.all().delete()  # moved by a worker meanwhile
        with CaptureQueriesContext(connection) as queries:
            again = self.answer()
        inserts = [q["sql"] for q in queries.captured_queries if "INSERT" in q["sql"]]
        assert len(inserts) == 1, "after the refused statement the first answer is read"
        assert not again.created
        assert again.response.pk == first.pk
        assert Response.objects.count() == 1
        assert not ProcessingOutbox.objects.exists()

    def test_with_a_listening_endpoint_the_event_commits_with_the_answer(self) -> None:
        endpoint = WebhookEndpoint(
            workspace=self.workspace, url="http://127.0.0.1:9/", events=["response.created"]
        )
        endpoint.set_secret("s" * 32)
        endpoint.save()
        with CaptureQueriesContext(connection) as queries:
            recorded = self.answer()
        assert not any(q["sql"].startswith("WITH new AS") for q in queries.captured_queries)
        event = WebhookEvent.objects.get()
        assert event.type == "response.created"
        assert event.payload["id"] == recorded.response.pk
        assert ProcessingOutbox.objects.filter(response=recorded.response).exists()

    def test_also_is_refused_where_it_cannot_be_one_statement(self) -> None:
        with pytest.raises(ValueError, match="generated key"):
            plainsql.insert(
                Response(
                    pk=10**9,
                    workspace=self.workspace,
                    survey=self.survey,
                    score=1,
                    scale_min=0,
                    scale_max=10,
                    channel=Channel.LINK,
                ),
                also=plainsql.Also("SELECT 1", []),
            )


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite has no INSERT in a WITH")
class SqliteKeepsTheTransactionTests(BaseTestCase):
    def test_no_one_statement_path_on_sqlite(self) -> None:
        assert queued_with_insert("default") is None
        recorded = record_response(
            survey=self.survey, score=9, channel=Channel.LINK, idempotency_key="form:sqlite-0001"
        )
        assert ProcessingOutbox.objects.filter(response=recorded.response).exists()

    def test_the_table_is_one_b_tree_keyed_by_the_answer(self) -> None:
        # RowidOneToOneField: `integer PRIMARY KEY` is SQLite's rowid, so no separate
        # index is written with every answer (`bigint PRIMARY KEY` would add one).
        table = ProcessingOutbox._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE tbl_name = %s", [table])
            assert [row[0] for row in cursor.fetchall()] == [table]
            cursor.execute(f'PRAGMA table_info("{table}")')
            columns = {row[1]: (row[2].lower(), row[5]) for row in cursor.fetchall()}
            assert columns["response_id"] == ("integer", 1)  # (type, primary key)
        first = self.survey.responses.create(workspace=self.workspace, score=9, channel="api")
        ProcessingOutbox.objects.create(response=first)
        assert ProcessingOutbox.objects.get().pk == first.pk


@pytest.mark.postgres
class PostgresOutboxColumnTests(BaseTestCase):
    def test_the_key_stays_the_answers_bigint(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT data_type FROM information_schema.columns"
                " WHERE table_name = %s AND column_name = 'response_id'",
                [ProcessingOutbox._meta.db_table],
            )
            assert cursor.fetchone() == ("bigint",)
